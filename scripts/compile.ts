/**
 * `deno task compile [--read DIR,...] [--write DIR,...] [--no-ffi] [--output FILE]` (a `--`
 * before them is accepted too): builds the
 * self-contained `./opentracker` with the permission set of src/config/permission_flags.ts
 * embedded, for the given directories (default /etc/opentracker and /var/lib/opentracker).
 * FFI is granted for the C library's file only (the batched UDP path); `--no-ffi` leaves it out,
 * and UDP then takes the portable path.
 *
 * `deno compile` needs Deno's `denort` runtime for the target. Offline, provide it with
 * DENORT_BIN=/path/to/denort, or place denort-x86_64-unknown-linux-gnu.zip under
 * $DENO_DIR/dl/release/v2.9.6/.
 */

import { parseArgs } from "node:util";
import { INSTALL_DIRS, permissionFlags } from "../src/config/permission_flags.ts";

const OPTIONS = "--read DIR,... --write DIR,... --no-ffi --output FILE";
let values;
try {
  // `deno task compile -- --read DIR` passes the `--` on; it means nothing here.
  ({ values } = parseArgs({
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    options: {
      read: { type: "string" },
      write: { type: "string" },
      output: { type: "string", default: "opentracker" },
      "no-ffi": { type: "boolean", default: false },
    },
  }));
} catch (error) {
  console.error(`deno task compile: ${(error as Error).message}. Options: ${OPTIONS}`);
  Deno.exit(2);
}
const split = (s: string | undefined, fallback: readonly string[]) =>
  s === undefined ? fallback : s.split(",").filter(Boolean);
const dirs = {
  read: split(values.read, INSTALL_DIRS.read),
  write: split(values.write, INSTALL_DIRS.write),
  ffi: !values["no-ffi"],
};
const args = [
  "compile",
  ...permissionFlags(dirs),
  "--unstable-net",
  // Workers' code is not found by the module graph of main.ts (tracker.workers above 1).
  "--include",
  new URL("../src/worker.ts", import.meta.url).pathname,
  "--output",
  values.output!,
  new URL("../main.ts", import.meta.url).pathname,
];

// deno compile joins the program to Deno's runtime for this platform, denort, which it downloads
// once into its cache unless DENORT_BIN names the file.
const denortZip = `denort-${Deno.build.target}.zip`;
const denoDir = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;
const cached = `${denoDir}/dl/release/v${Deno.version.deno}/${denortZip}`;
const denortBin = Deno.env.get("DENORT_BIN");
const offlineHint = `Without network access, give deno compile its runtime: ` +
  `DENORT_BIN=/path/to/denort deno task compile, or place ${denortZip} (from ` +
  `https://dl.deno.land/release/v${Deno.version.deno}/${denortZip}) at ${cached}.`;
const exists = (path: string) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
};
if (denortBin !== undefined && !exists(denortBin)) {
  console.error(
    `DENORT_BIN=${denortBin}: no such file (it must be Deno's denort runtime, ` +
      `version ${Deno.version.deno}, for ${Deno.build.target}).`,
  );
  Deno.exit(1);
}
if (denortBin === undefined && !exists(cached)) {
  console.error(`deno compile downloads ${denortZip} once, into ${cached}.`);
}

console.error(`deno ${args.join(" ")}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code !== 0 && denortBin === undefined && !exists(cached)) {
  console.error(`\ndeno compile failed, and its runtime is not cached. ${offlineHint}`);
}
Deno.exit(code);
