/**
 * `deno task compile [--read DIR,...] [--write DIR,...] [--no-ffi] [--output FILE]`: builds the
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

const { values } = parseArgs({
  args: Deno.args,
  options: {
    read: { type: "string" },
    write: { type: "string" },
    output: { type: "string", default: "opentracker" },
    "no-ffi": { type: "boolean", default: false },
  },
});
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
console.error(`deno ${args.join(" ")}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args,
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
