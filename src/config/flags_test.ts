import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
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

Deno.test("parseFlags() says which argument is wrong and why, then the usage; 0 for -h and -v", () => {
  const cases: [string[], string][] = [
    [["-x"], "unknown flag -x"],
    [
      ["--port", "1"],
      "unknown flag --port: flags are single letters as in opentracker (-p 6969), and the only " +
      "long one is --print-config",
    ],
    [
      ["--port=1"],
      "unknown flag --port: flags are single letters as in opentracker (-p 6969), " +
      "and the only long one is --print-config",
    ],
    [["-p"], "-p needs a value"],
    [["-p", "abc"], "-p abc: not a port number (0 to 65535)"],
    [["-p", "-1"], "-p -1: not a port number (0 to 65535)"],
    [["-Px"], "-P x: not a port number (0 to 65535)"],
    [["-s", "y"], "-s y: not a port number (0 to 65535)"],
    [["-i", "999.1.1.1"], "-i 999.1.1.1: not an IPv4 or IPv6 address"],
    [["-i", "192.168"], "-i 192.168: not an IPv4 or IPv6 address"],
    [
      ["-A", "10.0.0.0/99"],
      "-A 10.0.0.0/99: not an address or network (ip, or ip/bits with bits at most 32 for IPv4 " +
      "and 128 for IPv6)",
    ],
    [["foo"], 'unexpected argument "foo": every argument is a flag (-f opentracker.conf)'],
    [["-vv"], "-vv: -v takes no value"],
    [["-d", "/srv", "-l"], "-l needs a value"],
  ];
  for (const [args, problem] of cases) {
    const r = parseFlags(args);
    deepStrictEqual(
      r.kind === "exit" && [r.code, r.stderr],
      [1, `${problem}\n${USAGE}Run opentracker -h for what each flag does.\n`],
      args.join(" "),
    );
  }
  // The usage names every flag, -l, -h, -v and --print-config included.
  for (const flag of ["-f", "-i", "-p", "-P", "-s", "-A", "-r", "-d", "-u", "-l", "-w"]) {
    ok(USAGE.includes(`[${flag} `), flag);
  }
  for (const flag of ["[-h]", "[-v]", "[--print-config]", "[-l statedump]"]) {
    ok(USAGE.includes(flag));
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
