import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ipFromString } from "../util/ip.ts";
import {
  addressKey,
  CLOSE_REASON,
  CLOSING_SLACK,
  CONN_STATE,
  connectionCap,
  ConnectionLimits,
  ConnectionTable,
  descriptorReserve,
  LocalAddressCounts,
  REFUSE_REASON,
  Tracked,
} from "./connections.ts";

const LIMITS: ConnectionLimits = {
  connectionsMax: 4,
  perAddressMax: 3,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  writeTimeoutMs: 20_000,
  websocketTimeoutMs: 60_000,
};

/**
 * A table whose connections record their closing in `closed`; with `sessionsEnd`, a closed
 * connection's session ends at once (release), else it stays counted until `end(name)`.
 */
function table(limits: Partial<ConnectionLimits> = {}, sessionsEnd = true) {
  const perAddress = new LocalAddressCounts();
  const t = new ConnectionTable({ ...LIMITS, ...limits }, perAddress);
  const closed: string[] = [];
  const byName = new Map<string, Tracked>();
  const admit = (name: string, key = name, now = 0) => {
    const c = t.admit(key, () => {
      closed.push(name);
      if (sessionsEnd) t.release(byName.get(name)!);
    }, now);
    if (c !== null) byName.set(name, c);
    return c;
  };
  const end = (name: string) => t.release(byName.get(name)!);
  return { t, closed, admit, end, perAddress };
}

Deno.test("ConnectionTable.admit() refuses an address at its cap and admits others", () => {
  const { t, admit, perAddress } = table();
  for (let i = 0; i < 3; i++) ok(admit(`a${i}`, "1.2.3.4") !== null);
  strictEqual(admit("a3", "1.2.3.4"), null);
  strictEqual(t.counters.refused[REFUSE_REASON.perAddress], 1);
  ok(admit("b", "5.6.7.8") !== null);
  strictEqual(t.open, 4);
  strictEqual(perAddress.size, 2);
});

Deno.test("ConnectionTable.whenRoom() at the cap closes the oldest idle, then the oldest request", () => {
  const { t, closed, admit } = table();
  strictEqual(t.whenRoom(), null);
  const a = admit("a", "a", 0)!;
  const b = admit("b", "b", 1)!;
  const c = admit("c", "c", 2)!;
  admit("d", "d", 3);
  t.enter(c, CONN_STATE.idle, 10);
  t.enter(b, CONN_STATE.idle, 11);
  t.enter(a, CONN_STATE.writing, 12);
  for (const name of ["e", "f", "g"]) {
    strictEqual(t.whenRoom(), null, "room at once: a connection was closed for it");
    admit(name, name, 20);
  }
  deepStrictEqual(closed, ["c", "b", "d"]); // idle since 10, idle since 11, oldest request
  strictEqual(t.counters.closed[CLOSE_REASON.evicted], 3);
  strictEqual(t.counters.capWaits, 0);
  strictEqual(t.open, 4);
});

Deno.test("ConnectionTable.whenRoom() lets at most CLOSING_SLACK closed connections hold descriptors", async () => {
  const { t, closed, admit, end } = table({ connectionsMax: 2, perAddressMax: 1000 }, false);
  admit("a0", "x");
  admit("a1", "x");
  // Sessions never end here: each admission past the cap closes one more, up to the slack.
  for (let i = 2; i < 2 + CLOSING_SLACK; i++) {
    strictEqual(t.whenRoom(), null, `admission ${i}`);
    admit(`a${i}`, "x");
  }
  strictEqual(t.closing, CLOSING_SLACK);
  strictEqual(t.open, 2 + CLOSING_SLACK, "the closed ones still hold their descriptors");
  const room = t.whenRoom();
  ok(room !== null, "the slack is used up: wait");
  strictEqual(t.counters.capWaits, 1);
  let roomed = false;
  room.then(() => (roomed = true));
  end(closed[0]);
  await Promise.resolve();
  strictEqual(roomed, true);
  strictEqual(t.closing, CLOSING_SLACK - 1);
});

Deno.test("ConnectionTable.whenRoom() waits without closing anything while all are busy or writing", async () => {
  const { t, closed, admit, end } = table({ connectionsMax: 2 }, false);
  t.enter(admit("a")!, CONN_STATE.busy, 0);
  t.enter(admit("b")!, CONN_STATE.writing, 0);
  let roomed = false;
  t.whenRoom()!.then(() => (roomed = true));
  deepStrictEqual(closed, []);
  end("b"); // its reply was written and the client went away
  await Promise.resolve();
  strictEqual(roomed, true);
});

Deno.test("ConnectionTable keeps per-address counts exact under a one-address flood", () => {
  const { t, admit } = table({ connectionsMax: 4, perAddressMax: 6 });
  // One address floods: every admission past the cap closes one of its own connections first.
  for (let i = 0; i < 100; i++) {
    strictEqual(t.whenRoom(), null);
    ok(admit(`c${i}`, "x", i) !== null, `admission ${i}`);
  }
  strictEqual(t.open, 4);
  strictEqual(t.counters.closed[CLOSE_REASON.evicted], 96);
  strictEqual(t.counters.refused[REFUSE_REASON.perAddress], 0);
});

Deno.test("ConnectionTable.sweep() closes each state at its own deadline", () => {
  const { t, closed, admit } = table({ connectionsMax: 10, perAddressMax: 10 });
  admit("request", "x", 0); // request timeout 10 s from 0
  t.enter(admit("idle", "x", 0)!, CONN_STATE.idle, 0); // idle timeout 30 s
  t.enter(admit("writing", "x", 0)!, CONN_STATE.writing, 5_000); // write timeout 20 s from 5 s
  t.enter(admit("busy", "x", 0)!, CONN_STATE.busy, 0); // no deadline
  strictEqual(t.sweep(9_999), 0);
  strictEqual(t.sweep(10_000), 1);
  strictEqual(t.sweep(24_999), 0);
  strictEqual(t.sweep(25_000), 1);
  strictEqual(t.sweep(30_000), 1);
  strictEqual(t.sweep(1e9), 0);
  deepStrictEqual(closed, ["request", "writing", "idle"]);
  strictEqual(t.counters.closed[CLOSE_REASON.requestTimeout], 1);
  strictEqual(t.counters.closed[CLOSE_REASON.writeTimeout], 1);
  strictEqual(t.counters.closed[CLOSE_REASON.idleTimeout], 1);
  strictEqual(t.open, 1);
});

Deno.test("ConnectionTable.enter() restarts the deadline; release() is idempotent", () => {
  const { t, closed, admit, perAddress } = table();
  const a = admit("a", "a", 0)!;
  t.enter(a, CONN_STATE.request, 9_000);
  strictEqual(t.sweep(10_000), 0);
  t.release(a);
  t.release(a);
  strictEqual(t.open, 0);
  strictEqual(perAddress.size, 0);
  t.enter(a, CONN_STATE.idle, 0); // a released connection stays released
  strictEqual(t.count(CONN_STATE.idle), 0);
  deepStrictEqual(closed, []);
});

Deno.test("ConnectionTable.closeAll() closes every connection and wakes waiting accepts", async () => {
  const { t, closed, admit } = table({ connectionsMax: 2 });
  t.enter(admit("a")!, CONN_STATE.busy, 0);
  t.enter(admit("b")!, CONN_STATE.writing, 0);
  const room = t.whenRoom()!;
  t.closeAll();
  await room;
  deepStrictEqual(closed.sort(), ["a", "b"]);
  strictEqual(t.open, 0);
  strictEqual(t.counters.closed[CLOSE_REASON.shutdown], 2);
});

Deno.test("ConnectionTable.descriptorsExhausted() lowers the cap and frees a reserve", () => {
  const { t, closed, admit } = table({ connectionsMax: 1000, perAddressMax: 1000 });
  for (let i = 0; i < 200; i++) t.enter(admit(`c${i}`, "x", i)!, CONN_STATE.idle, i);
  const cap = t.descriptorsExhausted();
  strictEqual(cap, 200 - descriptorReserve(200));
  strictEqual(t.open, cap);
  strictEqual(closed.length, 200 - cap);
  deepStrictEqual(closed.slice(0, 2), ["c0", "c1"], "oldest idle first");
  strictEqual(t.ceiling, cap);
});

Deno.test("connectionCap() keeps the cap below the descriptor limit", () => {
  deepStrictEqual(connectionCap(0, null), { connectionsMax: 32768, lowered: false });
  deepStrictEqual(connectionCap(0, 1024), {
    connectionsMax: 1024 - descriptorReserve(1024),
    lowered: false,
  });
  deepStrictEqual(connectionCap(5000, 1024), {
    connectionsMax: 1024 - descriptorReserve(1024),
    lowered: true,
  });
  deepStrictEqual(connectionCap(500, 1024), { connectionsMax: 500, lowered: false });
  deepStrictEqual(connectionCap(0, 40), { connectionsMax: 16, lowered: false });
  // Each further worker holds descriptors of its own.
  deepStrictEqual(connectionCap(0, 1024, 4), {
    connectionsMax: 1024 - descriptorReserve(1024) - 3 * 16,
    lowered: false,
  });
});

Deno.test("ConnectionTable: a worker's share of the closing slack bounds its closed connections", () => {
  const { t, admit } = table({ connectionsMax: 2, perAddressMax: 1000, closingSlack: 3 }, false);
  admit("a0", "x");
  admit("a1", "x");
  for (let i = 2; i < 5; i++) {
    strictEqual(t.whenRoom(), null, `admission ${i}`);
    admit(`a${i}`, "x");
  }
  strictEqual(t.closing, 3);
  ok(t.whenRoom() !== null, "its share is used up: wait");
});

Deno.test("addressKey() is the IPv4 address, or the /64 of an IPv6 address", () => {
  strictEqual(addressKey(ipFromString("192.0.2.7")!), "192.0.2.7");
  strictEqual(
    addressKey(ipFromString("2001:db8:1:2:aaaa::1")!),
    addressKey(ipFromString("2001:db8:1:2:bbbb::9")!),
  );
  ok(addressKey(ipFromString("2001:db8:1:3::1")!) !== addressKey(ipFromString("2001:db8:1:2::1")!));
});
