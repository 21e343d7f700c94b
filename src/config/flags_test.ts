import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { loadConfig, LoadResult, scanPort, USAGE } from "./flags.ts";

function parseFlags(args: string[]): LoadResult {
  return loadConfig(args, {
    readTextFile: () => {
      throw new Error("no files here");
    },
  });
}

function listeners(args: string[]) {
  const r = parseFlags(args);
  if (r.kind !== "run") throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r.config.listeners.map((l) => `${l.protocol} ${l.host} ${l.port}`);
}

Deno.test("parseFlags() binds TCP and UDP 6969 on :: when nothing is bound", () => {
  deepStrictEqual(listeners([]), ["tcp :: 6969", "udp :: 6969"]);
  deepStrictEqual(listeners(["-i", "127.0.0.1"]), ["tcp 127.0.0.1 6969", "udp 127.0.0.1 6969"]);
});

Deno.test("parseFlags() applies -i to the -p/-P after it, left to right", () => {
  deepStrictEqual(
    listeners(["-i", "10.0.0.1", "-p", "80", "-P", "80", "-i", "::1", "-p", "6969"]),
    ["tcp 10.0.0.1 80", "udp 10.0.0.1 80", "tcp ::1 6969"],
  );
  deepStrictEqual(listeners(["-p", "1", "-i", "10.0.0.2", "-p", "2"]), [
    "tcp :: 1",
    "tcp 10.0.0.2 2",
  ]);
  deepStrictEqual(listeners(["-p1", "-P2"]), ["tcp :: 1", "udp :: 2"]);
});

Deno.test("parseFlags() exits with usage on bad input and 0 for -h and -v", () => {
  for (const args of [["-x"], ["-p"], ["-p", "x"], ["-i", "192.168"], ["foo"], ["-vv"]]) {
    const r = parseFlags(args);
    deepStrictEqual(r.kind === "exit" && [r.code, r.stderr], [1, USAGE], args.join(" "));
  }
  for (const flag of ["-h", "-v"]) {
    const r = parseFlags([flag]);
    strictEqual(r.kind === "exit" && r.code, 0);
  }
  const r = parseFlags(["-r", "https://example.org/"]);
  strictEqual(r.kind === "run" && r.config.redirectUrl, "https://example.org/");
});

Deno.test("scanPort() reads digits like libowfat's scan_ushort", () => {
  const cases: [string, number | null][] = [
    ["6969", 6969],
    ["70000", 7000],
    ["65535", 65535],
    ["65536", 6553],
    ["80abc", 80],
    ["0", 0],
    ["", null],
    ["x1", null],
    ["-1", null],
  ];
  for (const [text, port] of cases) strictEqual(scanPort(text), port, text);
});
