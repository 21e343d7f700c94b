/**
 * Which optional reference tools the tests may use. `scripts/test.ts` installs them (as root) and
 * passes what is still missing in MISSING_TEST_PACKAGES. Under CI=true a missing tool is never a
 * reason to skip: the tests run and fail loudly.
 */

const missing = new Set((Deno.env.get("MISSING_TEST_PACKAGES") ?? "").split(" ").filter(Boolean));

function present(pkg: string, probe: () => boolean): boolean {
  if (missing.has(pkg)) return false;
  try {
    return probe();
  } catch {
    return false;
  }
}

function runs(cmd: string, args: string[]): boolean {
  return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
}

/** Options for Deno.test: skipped (with a notice) when `pkg` is missing, unless under CI. */
export function needs(
  pkg: "opentracker" | "python3-libtorrent" | "systemd" | "chromium" | "curl" | "root",
): { ignore: boolean } {
  const probes = {
    "opentracker": () => runs("/usr/bin/opentracker", ["-v"]) && runs("setpriv", ["--version"]),
    "python3-libtorrent": () => runs("/usr/bin/python3", ["-c", "import libtorrent"]),
    "systemd": () => runs("systemd-analyze", ["--version"]),
    // HTTPS tests: curl as the client, openssl to make their certificate.
    "curl": () => runs("curl", ["--version"]) && runs("openssl", ["version"]),
    // The browser, and network namespaces (root, iproute2) to keep it on loopback.
    "chromium": () =>
      runs("/usr/bin/chromium", ["--version"]) && runs("ip", ["-V"]) && Deno.uid() === 0,
    // Raw sockets, to forge what no socket can send (a datagram from source port 0).
    "root": () => Deno.uid() === 0,
  };
  const ok = present(pkg, probes[pkg]);
  if (ok || Deno.env.get("CI") === "true") return { ignore: false };
  const how = pkg === "chromium"
    ? "as root (network namespaces), with apt-get install chromium iproute2"
    : pkg === "root"
    ? "as root (raw sockets)"
    : `apt-get install ${pkg}`;
  console.error(`Skipping tests that need ${pkg}: run them ${how}`);
  return { ignore: true };
}
