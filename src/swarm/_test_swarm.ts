/**
 * Helpers of the swarm's unit tests (private to swarm/): a small swarm with fixed seeds, hashes
 * from numbers, and an announce that also selects the reply's peers, as a frontend would.
 */

import { AnnounceRequest, EVENT } from "../types.ts";
import { parseIp } from "../util/ip.ts";
import { Prng } from "../util/random.ts";
import { AnnounceResult, REPLY, ScrapeCounts } from "./announce_result.ts";
import { Swarm } from "./swarm.ts";

export const T = 29_000_000; // minutes since the epoch, any value works

export function newSwarm(seed = 1): Swarm {
  return new Swarm({
    prng: new Prng([seed, 2, 3, 4]),
    hashSeed: Uint32Array.of(5, 6, 7, 8),
    initialTorrents: 16,
  });
}

export function hash(n: number): Uint8Array {
  const h = new Uint8Array(20);
  new DataView(h.buffer).setUint32(0, n);
  h[19] = 0xaa;
  return h;
}

export interface Peer {
  ip: string;
  port: number;
  seeding?: boolean;
  event?: number;
  numwant?: number;
}

/** A result with the peers the swarm wrote for it, as a reply would carry them. */
class PeersResult extends AnnounceResult {
  readonly peers4 = new Uint8Array(6 * 512);
  readonly peers6 = new Uint8Array(18 * 512);
}

const req = new AnnounceRequest();
export const res = new PeersResult();

export function announce(
  s: Swarm,
  h: Uint8Array,
  p: Peer,
  now = T,
  reply: number = REPLY.bothFamilies,
) {
  req.infoHash.set(h);
  if (!parseIp(p.ip, req.ip)) throw new Error(p.ip);
  req.port = p.port;
  req.seeding = p.seeding ?? false;
  req.event = p.event ?? EVENT.none;
  req.numwant = p.numwant ?? 50;
  if (req.event === EVENT.stopped) s.stop(req, res);
  else s.announce(req, now, reply, false, res);
  s.writePeers(res, 0, res.peers4, 0);
  s.writePeers(res, 1, res.peers6, 0);
  return res;
}

export function scrape(s: Swarm, h: Uint8Array, now = T): ScrapeCounts | null {
  const c = new ScrapeCounts();
  return s.scrape(h, 0, now, c) ? c : null;
}
