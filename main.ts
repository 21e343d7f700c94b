/**
 * Entry point: argv → configuration → tracker. The only place that exits the process.
 *
 *   ./opentracker [-i ip] [-p port] [-P port] ...   (see -h)
 */

import { parseFlags } from "./src/config/flags.ts";
import { formatHostPort, startTracker } from "./src/tracker.ts";

function main(): void {
  const parsed = parseFlags(Deno.args);
  if (parsed.kind === "exit") {
    Deno.stderr.writeSync(new TextEncoder().encode(parsed.stderr));
    Deno.exit(parsed.code);
  }
  let tracker;
  try {
    tracker = startTracker(parsed.config);
  } catch (error) {
    // opentracker: "socket_bind6_reuse: <strerror>", exit 111.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`Cannot bind: ${message}`);
    Deno.exit(111);
  }
  for (const a of tracker.addresses) {
    console.log(`listening on ${a.protocol} ${formatHostPort(a.host, a.port)}`);
  }
  const shutdown = () => {
    tracker.stop().finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
}

main();
