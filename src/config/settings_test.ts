import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { loadConfig } from "./flags.ts";
import { SETTINGS } from "./settings.ts";

function load(args: string[], files: Record<string, string> = {}) {
  return loadConfig(args, {
    readTextFile(path) {
      if (!(path in files)) throw new Error("No such file or directory");
      return files[path];
    },
  });
}

Deno.test("opentracker.conf.sample documents exactly the keys the resolver knows", () => {
  const text = Deno.readTextFileSync(new URL("../../opentracker.conf.sample", import.meta.url));
  const documented = new Set<string>();
  for (const line of text.split("\n")) {
    const m = line.match(/^#?\s*([a-z0-9_]+\.[a-z0-9_.]+)\s/);
    if (m) documented.add(m[1]);
  }
  deepStrictEqual([...documented].sort(), SETTINGS.map((s) => s.key).sort());
});

Deno.test("opentracker.conf.sample, uncommented, is a valid configuration", () => {
  const text = Deno.readTextFileSync(new URL("../../opentracker.conf.sample", import.meta.url));
  // Every example line without its comment mark, minus the list choice that excludes the other.
  const active = text.split("\n")
    .map((l) => l.replace(/^# (?=[a-z0-9_]+\.[a-z0-9_.]+ )/, ""))
    .filter((l) => !l.startsWith("access.blacklist"))
    .join("\n");
  const r = load(["-f", "all.conf"], { "all.conf": active });
  strictEqual(r.kind, "run", r.kind === "exit" ? r.stderr : "");
});

Deno.test("loadConfig() stops with file, line, key and value on a bad value", () => {
  const cases: [string, RegExp][] = [
    ["listen.tcp 1.2.3\n", /a\.conf:1: listen\.tcp "1\.2\.3": not an address/],
    ["\n\ntracker.peer_timeout 300\n", /a\.conf:3: tracker.peer_timeout "300": must be 1 to 255/],
    ["access.stats 192.168/16\n", /a\.conf:1: access\.stats "192\.168\/16"/],
    [
      "access.ip_from_query maybe\n",
      /a\.conf:1: access\.ip_from_query "maybe": expected on or off/,
    ],
    ["tracker.redirect_url\n", /a\.conf:1: tracker\.redirect_url: a value is missing/],
    [
      "access.whitelist w\naccess.blacklist b\n",
      /access\.whitelist \(a\.conf:1\) and access\.blacklist \(a\.conf:2\) exclude each other/,
    ],
    ["tracker.numwant_default 300\n", /numwant_default 300 exceeds tracker\.numwant_max 200/],
    ["livesync.cluster.listen [::1]:9696\n", /not an IPv4 address/],
    [
      "livesync.cluster.listen 10.0.0.1\nlivesync.cluster.listen 10.0.0.2\n",
      /a\.conf:2: livesync\.cluster\.listen "10\.0\.0\.2": given twice/,
    ],
    ["livesync.cluster.group 10.0.0.1\n", /not an IPv4 multicast address/],
    ["livesync.unicast.key 00ff\n", /must be 32 to 128 hex digits/],
    [
      "livesync.cluster.listen 10.0.0.1\nlivesync.unicast.peer 10.0.0.2\n",
      /livesync\.unicast\.peer and livesync\.unicast\.key go together/,
    ],
    [
      `livesync.unicast.peer 10.0.0.2\nlivesync.unicast.key ${"ab".repeat(16)}\n`,
      /unicast live sync needs livesync\.cluster\.listen/,
    ],
  ];
  for (const [text, pattern] of cases) {
    const r = load(["-f", "a.conf"], { "a.conf": text });
    ok(
      r.kind === "exit" && r.code === 1 && pattern.test(r.stderr),
      `${text}: ${JSON.stringify(r)}`,
    );
  }
  const missing = load(["-f", "nope.conf"]);
  ok(
    missing.kind === "exit" && missing.code === 1 &&
      /Can't open config file: nope\.conf/.test(missing.stderr),
  );
});

Deno.test("loadConfig() warns about unknown keys with file:line and goes on", () => {
  const r = load(["-f", "a.conf"], { "a.conf": "foo.bar 1\nbatchsync.cluster.admin_ip 1.2.3.4\n" });
  ok(r.kind === "run");
  deepStrictEqual(r.warnings, [
    'a.conf:1: unknown key "foo.bar" ignored',
    'a.conf:2: unknown key "batchsync.cluster.admin_ip" ignored (opentracker ignores it too)',
  ]);
});

Deno.test("loadConfig() executes -f at its position among the flags", () => {
  const files = { "a.conf": "listen.tcp 10.0.0.1:80\ntracker.redirect_url https://a/\n" };
  const r = load(["-i", "::1", "-p", "1", "-f", "a.conf", "-p", "2", "-r", "https://b/"], files);
  ok(r.kind === "run");
  deepStrictEqual(r.config.listeners.map((l) => `${l.protocol} ${l.host} ${l.port}`), [
    "tcp ::1 1",
    "tcp 10.0.0.1 80",
    "tcp ::1 2",
  ]);
  strictEqual(r.config.redirectUrl, "https://b/");
  const later = load(["-r", "https://b/", "-f", "a.conf"], files);
  ok(later.kind === "run" && later.config.redirectUrl === "https://a/");
});

Deno.test("loadConfig() resolves relative paths against the root directory", () => {
  const r = load(["-d", "/srv/ot", "-w", "white.txt", "-l", "/abs/dump"]);
  ok(r.kind === "run");
  strictEqual(r.config.accessListFile, "/srv/ot/white.txt");
  strictEqual(r.config.stateLoadFile, "/abs/dump");
  strictEqual(r.config.accessMode, "whitelist");
});

Deno.test("loadConfig() turns access.stats into restricted stats and -u into a notice", () => {
  const open = load([]);
  ok(open.kind === "run" && open.config.restrictStats === false);
  const r = load(["-A", "10.0.0.0/8", "-u", "nobody"]);
  ok(r.kind === "run" && r.config.restrictStats === true);
  ok(r.warnings.some((w) => w.includes('user "nobody" is not switched to')));
});

Deno.test("--print-config prints every key in config-file syntax", () => {
  const r = load(["--print-config", "-i", "127.0.0.1", "-p", "6969"]);
  ok(r.kind === "exit" && r.code === 0 && r.stdout);
  for (const s of SETTINGS) ok(r.stdout.includes(s.key), s.key);
  ok(r.stdout.includes("listen.tcp 127.0.0.1:6969\n"));
  ok(r.stdout.includes("tracker.peer_timeout 45\n"));
  // What it prints loads again to the same configuration.
  const again = load(["-f", "p.conf"], { "p.conf": r.stdout });
  ok(again.kind === "run" && again.config.listeners[0].port === 6969);
});
