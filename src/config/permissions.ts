/**
 * Start-up check that the permission sandbox grants every file the configuration names, so that
 * a missing grant stops the start with a message naming it, instead of failing later (a list
 * that cannot be reloaded, a state file that cannot be written).
 */

import { Config } from "./config.ts";
import { LIBC_PATHS } from "../types.ts";
import { permissionFlags } from "./permission_flags.ts";

interface Need {
  readonly path: string;
  readonly kind: "read" | "write";
  readonly what: string;
}

function needs(config: Config): Need[] {
  const out: Need[] = [];
  const o = config.origins;
  if (config.accessListFile !== null) {
    const what = `access.${config.accessMode} (${o.whitelist ?? o.blacklist ?? "command line"})`;
    out.push({ path: config.accessListFile, kind: "read", what });
  }
  for (const [path, key] of [[config.fifoAdd, "fifo_add"], [config.fifoDelete, "fifo_delete"]]) {
    if (path === null) continue;
    const what = `access.${key} (${o[key === "fifo_add" ? "fifoAdd" : "fifoDelete"]})`;
    out.push({ path, kind: "read", what }, { path, kind: "write", what });
  }
  if (config.stateFile !== null) {
    const what = `tracker.statefile (${o.stateFile})`;
    const dir = config.stateFile.includes("/")
      ? config.stateFile.slice(0, config.stateFile.lastIndexOf("/")) || "/"
      : ".";
    out.push({ path: config.stateFile, kind: "read", what }, { path: dir, kind: "write", what });
  }
  if (config.listeners.some((l) => l.protocol === "tls")) {
    const files: [string | null, string, string | undefined][] = [
      [config.tlsCertFile, "listen.tcp.tls_cert", o.tlsCertFile],
      [config.tlsKeyFile, "listen.tcp.tls_key", o.tlsKeyFile],
    ];
    for (const [path, key, origin] of files) {
      if (path !== null) out.push({ path, kind: "read", what: `${key} (${origin})` });
    }
  }
  if (config.stateLoadFile !== null) {
    out.push({ path: config.stateLoadFile, kind: "read", what: `-l (${o.stateLoadFile})` });
  }
  return out;
}

/** Messages for every file the configuration needs but the sandbox does not grant. */
export function checkPermissions(config: Config): string[] {
  const missing: string[] = [];
  const libcGranted = LIBC_PATHS.some((path) =>
    Deno.permissions.querySync({ name: "ffi", path }).state === "granted"
  );
  const batched = [
    ...(config.udpBatch === "on" ? ["listen.udp.batch on"] : []),
    ...(config.tcpBatch === "on" ? ["listen.tcp.batch on"] : []),
  ];
  if (batched.length > 0 && !libcGranted) {
    missing.push(
      `Missing permission: ffi, needed by ${batched.join(" and ")}; start with ` +
        `--allow-ffi=${LIBC_PATHS.join(",")} (deno task start and compile grant it) ` +
        "or set it to auto or off",
    );
  }
  for (const n of needs(config)) {
    const state = Deno.permissions.querySync({ name: n.kind, path: n.path }).state;
    if (state !== "granted") {
      missing.push(
        `Missing permission: ${n.kind} of ${n.path}, needed by ${n.what}; ` +
          `start with --allow-${n.kind}=${n.path} (or a directory that holds it)`,
      );
    }
  }
  return missing;
}

/**
 * Reads the configuration file `path` (`-f`) when the sandbox lets it, asking first: without the
 * grant Deno would prompt (or fail with a generic text) even for a file that does not exist.
 * Throws an error whose message says what to add.
 */
export function readConfigFile(path: string): string {
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    const flags = permissionFlags({ read: [".", path], write: ["."] }).join(" ");
    throw new Error(
      `no read permission for it; start with --allow-read=${path} (deno task start grants only ` +
        `the checkout; from it: deno run ${flags} main.ts -f ${path})`,
    );
  }
  return Deno.readTextFileSync(path);
}
