/**
 * Each runtime switch of the configuration module over real sockets: the real entry point with a
 * configuration file, started with the permission set of `deno task start` plus read access to
 * the test's own directory.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { randomHash } from "./support/clients.ts";
import { bdecode, httpGet, latin1, rawHttp, urlencodeBytes } from "./support/http.ts";
import { startFlags, withConfiguredTracker } from "./support/process.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Writes `conf` to a temporary file; returns its directory and path. */
async function confFile(conf: string): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/opentracker.conf`;
  await Deno.writeTextFile(path, conf);
  return { dir, path };
}

/** Starts the tracker with `conf` on 127.0.0.1 (TCP and UDP port 0) and runs `fn`. */
function withConf(
  conf: string,
  fn: (port: number, output: () => string) => Promise<void>,
): Promise<void> {
  return withConfiguredTracker(conf, (t) => fn(t.tcp[0], t.output));
}

/** Runs the entry point expecting it to exit; returns its code and stderr. */
async function runToExit(
  args: string[],
  extra: string[] = [],
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...startFlags(), ...extra, MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function announceTarget(hash: Uint8Array, extra = ""): string {
  return `/announce?info_hash=${urlencodeBytes(hash)}&port=7777&left=1${extra}`;
}

function peerIps(body: Uint8Array): string[] {
  const peers: Uint8Array = bdecode(body).peers ?? new Uint8Array(0);
  const out: string[] = [];
  for (let i = 0; i < peers.length; i += 6) out.push(peers.subarray(i, i + 4).join("."));
  return out;
}

Deno.test("stats are open by default and restricted once access.stats is configured", async () => {
  await withConf("", async (port) => {
    const res = await httpGet("127.0.0.1", port, "/stats");
    strictEqual(res.status, 200);
    ok(/^0\n0\nopentracker serving 0 torrents\nopentracker$/.test(latin1(res.body)));
  });
  await withConf("access.stats 10.0.0.0/8", async (port) => {
    const res = await httpGet("127.0.0.1", port, "/stats?mode=peer");
    strictEqual(res.status, 403);
    strictEqual(latin1(res.body), "<title>Access Denied</title>\n");
  });
  await withConf(
    "access.stats 10.0.0.0/8\naccess.stats 127.0.0.0/8\naccess.stats_path private/st",
    async (port) => {
      strictEqual((await httpGet("127.0.0.1", port, "/private/st?mode=tcp4")).status, 200);
      strictEqual((await httpGet("127.0.0.1", port, "/stats")).status, 404);
      strictEqual((await httpGet("127.0.0.1", port, "/private/st?mode=nonsense")).status, 400);
      strictEqual((await httpGet("127.0.0.1", port, "/private/st?info_hash=x")).status, 400);
    },
  );
});

Deno.test("X-Forwarded-For counts only from access.proxy nets, right-most untrusted entry", async () => {
  const xff = (target: string, value: string) =>
    `GET ${target} HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: ${value}\r\nConnection: close\r\n\r\n`;
  await withConf("access.proxy 127.0.0.1", async (port) => {
    const h = randomHash();
    const res = await rawHttp("127.0.0.1", port, xff(announceTarget(h), "6.6.6.6, 203.0.113.9"));
    deepStrictEqual(peerIps(res.body), ["203.0.113.9"]);
    // The stats check uses the forwarded client too.
  });
  await withConf("access.proxy 127.0.0.1\naccess.stats 127.0.0.1", async (port) => {
    const res = await rawHttp("127.0.0.1", port, xff("/stats", "203.0.113.9"));
    strictEqual(res.status, 403, "a forwarded client is not the trusted proxy");
  });
  await withConf("access.proxy 10.0.0.0/8", async (port) => {
    const h = randomHash();
    const res = await rawHttp("127.0.0.1", port, xff(announceTarget(h), "203.0.113.9"));
    deepStrictEqual(peerIps(res.body), ["127.0.0.1"], "127.0.0.1 is not a trusted proxy");
  });
});

Deno.test("ip= is honoured only with access.ip_from_query on", async () => {
  await withConf("access.ip_from_query on", async (port) => {
    const res = await httpGet("127.0.0.1", port, announceTarget(randomHash(), "&ip=198.51.100.7"));
    deepStrictEqual(peerIps(res.body), ["198.51.100.7"]);
  });
  await withConf("", async (port) => {
    const res = await httpGet("127.0.0.1", port, announceTarget(randomHash(), "&ip=198.51.100.7"));
    deepStrictEqual(peerIps(res.body), ["127.0.0.1"]);
  });
});

Deno.test("tunables from the configuration reach the replies", async () => {
  const conf =
    "tracker.announce_interval 7200\ntracker.numwant_default 2\ntracker.redirect_url https://example.org/\nfoo.bar baz";
  await withConf(conf, async (port, output) => {
    const h = randomHash();
    for (let p = 1; p <= 5; p++) await httpGet("127.0.0.1", port, announceTarget(h, `&port=${p}`));
    const d = bdecode((await httpGet("127.0.0.1", port, announceTarget(h))).body);
    ok(d.interval >= 7020 && d.interval <= 7379, `interval ${d.interval}`);
    strictEqual(d.peers.length, 2 * 6);
    const root = await httpGet("127.0.0.1", port, "/");
    strictEqual(root.status, 302);
    strictEqual(root.headers.get("location"), "https://example.org/");
    ok(/opentracker\.conf:4: unknown key "foo\.bar" ignored/.test(output()));
  });
});

Deno.test("the start is refused for bad values, missing grants and missing features", async () => {
  const bad = await confFile("listen.tcp 127.0.0.1:0\ntracker.peer_timeout 999\n");
  try {
    const r = await runToExit(["-f", bad.path], [`--allow-read=${bad.dir}`]);
    strictEqual(r.code, 1);
    ok(r.stderr.includes(`${bad.path}:2: tracker.peer_timeout "999": must be 1 to 255`), r.stderr);
  } finally {
    await Deno.remove(bad.dir, { recursive: true });
  }
  const missing = await runToExit(["-f", "/nonexistent/opentracker.conf"]);
  strictEqual(missing.code, 1);
  ok(missing.stderr.includes("Can't open config file: /nonexistent/opentracker.conf"));
  const denied = await runToExit(["-i", "127.0.0.1", "-p", "0", "-w", "/etc/hostname"]);
  strictEqual(denied.code, 1);
  ok(denied.stderr.includes("Missing permission: read of /etc/hostname"), denied.stderr);
  ok(denied.stderr.includes("--allow-read=/etc/hostname"), denied.stderr);
  const closed = await runToExit(["-i", "127.0.0.1", "-p", "0", "-w", "list"], ["--allow-read"]);
  strictEqual(closed.code, 1);
  ok(closed.stderr.includes("Can't open accesslist file: list"), closed.stderr);
});

Deno.test("deno task start and the tests use the flags of permission_flags.ts", async () => {
  const { permissionFlags, RUN_DIRS } = await import("../src/config/permission_flags.ts");
  deepStrictEqual(startFlags(), permissionFlags(RUN_DIRS));
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  ok(
    config.tasks.compile.includes("scripts/compile.ts"),
    "compile builds its flags from the same module",
  );
  const compile = await Deno.readTextFile(new URL("../scripts/compile.ts", import.meta.url));
  ok(compile.includes("permissionFlags("));
});
