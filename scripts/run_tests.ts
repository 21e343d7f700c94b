/**
 * `deno task test`: the whole suite, with its set-up.
 *
 * Some tests compare against Debian's opentracker and exchange a file between two libtorrent
 * clients. This script installs those Debian packages when run as root (as CI is) and otherwise
 * names exactly what is missing; the tests that need them then fail under CI=true and are
 * skipped with a notice elsewhere. Extra arguments go to `deno test`.
 */

interface Requirement {
  /** Debian package. */
  pkg: string;
  /** True when it is usable. */
  present(): boolean;
}

function run(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const REQUIREMENTS: Requirement[] = [
  { pkg: "opentracker", present: () => run("/usr/bin/opentracker", ["-v"]) },
  {
    pkg: "python3-libtorrent",
    present: () => run("/usr/bin/python3", ["-c", "import libtorrent"]),
  },
  { pkg: "util-linux", present: () => run("setpriv", ["--version"]) },
  { pkg: "systemd", present: () => run("systemd-analyze", ["--version"]) },
  { pkg: "chromium", present: () => run("/usr/bin/chromium", ["--version"]) },
  { pkg: "iproute2", present: () => run("ip", ["-V"]) },
  { pkg: "curl", present: () => run("curl", ["--version"]) },
  { pkg: "openssl", present: () => run("openssl", ["version"]) },
];

function missing(): string[] {
  return REQUIREMENTS.filter((r) => !r.present()).map((r) => r.pkg);
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

let absent = missing();
if (absent.length > 0 && isRoot()) {
  console.error(`Installing Debian packages for the tests: ${absent.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) =>
    new Deno.Command("apt-get", { args, env, stdout: "inherit", stderr: "inherit" }).outputSync();
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", "--no-install-recommends", ...absent]);
  absent = missing();
}
if (absent.length > 0) {
  console.error(
    `Missing for the reference tests: ${absent.join(" ")}\n` +
      `  install with: sudo apt-get install ${absent.join(" ")}\n` +
      `  (those tests fail under CI=true and are skipped otherwise)`,
  );
}

const result = await new Deno.Command(Deno.execPath(), {
  args: [
    "test",
    "--allow-all",
    "--parallel",
    ...(Deno.args.length > 0 ? Deno.args : ["src/", "tests/"]),
  ],
  env: { MISSING_TEST_PACKAGES: absent.join(" ") },
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(result.code);
