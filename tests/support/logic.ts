/**
 * A real tracker logic over a real swarm, for unit tests and benchmarks of the frontends: open
 * (or with the given access control), fixed seeds, no live sync unless a sink is given.
 */

import { ClientCounts } from "../../src/stats/clients.ts";
import { AccessControl } from "../../src/logic/access.ts";
import { SyncSink, TrackerLogic } from "../../src/logic/tracker_logic.ts";
import { Counters } from "../../src/stats/counters.ts";
import { Woodpeckers } from "../../src/stats/woodpeckers.ts";
import { HashSet20 } from "../../src/swarm/hash_set.ts";
import { Swarm, SwarmOptions } from "../../src/swarm/swarm.ts";
import { Prng } from "../../src/util/random.ts";
import { AnnounceRequest, EVENT } from "../../src/types.ts";
import { WsLink, WsSwarm } from "../../src/logic/ws_swarm.ts";

export const TEST_SEED: Uint32Array = Uint32Array.of(1, 2, 3, 4);

/** Options of {@link testLogic}. */
export interface TestLogicOptions {
  access?: AccessControl;
  sync?: SyncSink | null;
  swarm?: Partial<SwarmOptions>;
}

/** A tracker logic with its swarm, counters and access control. */
export function testLogic(options: TestLogicOptions = {}) {
  const swarm = new Swarm({ prng: new Prng([1, 2, 3, 4]), hashSeed: TEST_SEED, ...options.swarm });
  const counters = new Counters();
  const access = options.access ?? new AccessControl("open", new HashSet20(TEST_SEED), TEST_SEED);
  const woodpeckers = new Woodpeckers();
  const clients = new ClientCounts();
  const ws = new WsSwarm<WsLink>();
  const logic = new TrackerLogic({
    swarm,
    access,
    counters,
    clients,
    woodpeckers,
    sync: options.sync ?? null,
    prng: new Prng([4, 3, 2, 1]),
    interval: { baseSeconds: 1800, variationSeconds: 360 },
    ws,
  });
  return { logic, swarm, counters, access, woodpeckers, clients, ws };
}

/** An announce of torrent `hash` from `ip`:`port` (numwant 50, no event, leeching by default). */
export function announceRequest(
  hash: Uint8Array,
  ip: Uint8Array,
  port: number,
  o: { event?: number; seeding?: boolean; numwant?: number } = {},
): AnnounceRequest {
  const req = new AnnounceRequest();
  req.infoHash.set(hash);
  req.ip.set(ip);
  req.port = port;
  req.event = o.event ?? EVENT.none;
  req.seeding = o.seeding ?? false;
  req.numwant = o.numwant ?? 50;
  return req;
}

/** A 20-byte info_hash whose bytes are all `b` except the last two, which hold `n`. */
export function testHash(b: number, n = 0): Uint8Array {
  const h = new Uint8Array(20).fill(b);
  h[18] = n >> 8;
  h[19] = n & 255;
  return h;
}
