/**
 * Signals on a running tracker: SIGHUP in open mode (the unit's ExecReload) is a logged no-op,
 * SIGUSR2 writes the state file, SIGQUIT stops like SIGTERM with the state written.
 */

import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { httpClient, randomHash, udpClient } from "./support/clients.ts";
import { withConfiguredTracker } from "./support/process.ts";

Deno.test("SIGHUP in open mode changes nothing, SIGUSR2 writes the state, SIGQUIT stops and saves", async () => {
  await withConfiguredTracker((dir) => `tracker.statefile ${dir}/state\n`, async (t, dir) => {
    const hash = randomHash();
    const http = httpClient("127.0.0.1", t.tcp[0]);
    await http.announce({ hash, port: 1 });

    const noop = t.waitFor(/SIGHUP: nothing to reload \(no access list is configured\)\n/);
    Deno.kill(t.pid, "SIGHUP");
    await noop;
    const udp = udpClient("127.0.0.1", t.udp[0]);
    try {
      strictEqual(
        (await udp.announce({ hash, port: 2 })).incomplete,
        2,
        "still serving, same swarm",
      );
    } finally {
      udp.close();
    }

    const saved = t.waitFor(/Saved 1 torrents and 2 peers to .*state \(\d+ bytes\) in \d+ ms\n/);
    Deno.kill(t.pid, "SIGUSR2");
    await saved;
    const first = await Deno.stat(`${dir}/state`);

    await http.announce({ hash, port: 3 });
    const stopping = t.waitFor(/SIGQUIT: stopping\n(.|\n)*Saved 1 torrents and 3 peers/);
    Deno.kill(t.pid, "SIGQUIT");
    await stopping;
    const { code } = await t.child.status;
    strictEqual(code, 0);
    deepStrictEqual((await Deno.stat(`${dir}/state`)).size > first.size, true);
    match(t.output(), /^listening on tcp/m);
  });
});
