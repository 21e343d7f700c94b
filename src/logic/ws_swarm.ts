/**
 * The WebSocket (WebTorrent) peers of each torrent, beside the UDP/HTTP swarm: browsers cannot
 * reach those peers, nor they the browsers, so each kind is only given its own kind. A WebSocket
 * peer is not an address: it is the connection it announced on, which receives the offers of
 * other peers and the answers to its own. So this table keeps, per torrent, the peers by peer_id
 * with their connection; an announce returns the connections its offers go to (a random sample of
 * the other peers, at most as many as it made offers), an answer finds the connection of the peer
 * it answers.
 *
 * Bounded: peers per torrent, torrents per connection and peers in all have limits (a new peer
 * over one is refused with a reason; renewals always work); a peer goes when it stops, when its
 * connection closes ({@link closeConnection}) or when it has not announced for the timeout
 * ({@link expire}). Synchronous and without I/O; the connection is whatever the server uses (`C`).
 */

import { DEFAULTS, EVENT } from "../types.ts";
import { toBinaryString, WsAnnounce, WsScrapeEntry } from "../protocol/ws_tracker.ts";

/**
 * A WebSocket connection as the logic names it: the worker that holds its socket and its number
 * there. The server keeps one object per connection (the swarm compares them by identity).
 */
export interface WsLink {
  readonly worker: number;
  readonly id: number;
}

/** Limits of {@link WsSwarm}. */
export interface WsSwarmLimits {
  /** Peers of one torrent. */
  readonly torrentPeersMax: number;
  /** Torrents one connection may announce in. */
  readonly connectionTorrentsMax: number;
  /** Peers in all torrents. */
  readonly peersMax: number;
  /**
   * Offers and answers relayed to one peer per second, with bursts of twice as many: a peer that
   * had its fill is left out when offers are handed out, and answers to it are dropped, until it
   * has room again. 0: no limit.
   */
  readonly peerRelaysPerSecond: number;
}

/** What {@link WsSwarm.answerTarget} returns for a peer that had its fill of relayed messages. */
export const LIMITED = "limited";

/** Peers an announce's offers look at in turn after its random picks (see `#sample`). */
const SCAN_PEERS_MAX = 64;

/** Defaults: aquatic_ws-like bounds for one process. */
export const WS_SWARM_LIMITS: WsSwarmLimits = {
  torrentPeersMax: 10_000,
  connectionTorrentsMax: 256,
  peersMax: 1_000_000,
  peerRelaysPerSecond: DEFAULTS.wsPeerRelaysPerSecond,
};

interface Peer<C> {
  /** The peer_id as the binary string the client sent (the peer_id itself, 20 characters). */
  readonly key: string;
  readonly conn: C;
  seeding: boolean;
  seenMs: number;
  /** Offers and answers it may still be sent now (a token bucket, refilled at `relaysAtMs`). */
  relayTokens: number;
  relaysAtMs: number;
}

interface Torrent<C> {
  readonly peers: Peer<C>[];
  /** Position of each peer (by peer_id) in `peers`. */
  readonly at: Map<string, number>;
  seeders: number;
  downloaded: number;
}

/** Where an offer goes. */
export interface WsTarget<C> {
  readonly conn: C;
  /** Its peer_id as a binary string. */
  readonly key: string;
}

/** The outcome of {@link WsSwarm.announce}. */
export interface WsAnnounceOutcome<C> {
  /** Why a new peer was not stored (it still gets the counts), or null. */
  readonly refused: string | null;
  readonly complete: number;
  readonly incomplete: number;
  /** The connections its offers go to, in offer order. */
  readonly targets: readonly WsTarget<C>[];
  /** Offers that found no peer because those they could go to had their fill. */
  readonly limited: number;
}

/** The WebSocket peers of one worker's torrents. */
export class WsSwarm<C extends object> {
  readonly #limits: WsSwarmLimits;
  readonly #random: () => number;
  readonly #torrents = new Map<string, Torrent<C>>();
  /**
   * The peers of each connection (for its close), as peer_ids by torrent: a close or a removal
   * touches only its own peers, never a whole torrent's list.
   */
  readonly #byConn = new WeakMap<C, Map<string, string[]>>();
  #peers = 0;
  #seeders = 0;
  /** New peers refused at a limit. */
  refused = 0;

  /** `random` gives numbers in [0, 1) (a seeded generator in tests). */
  constructor(limits: WsSwarmLimits = WS_SWARM_LIMITS, random: () => number = Math.random) {
    this.#limits = limits;
    this.#random = random;
  }

  get torrents(): number {
    return this.#torrents.size;
  }

  get peers(): number {
    return this.#peers;
  }

  get seeders(): number {
    return this.#seeders;
  }

  /** An announce on `conn` at `nowMs`. */
  announce(a: WsAnnounce, conn: C, nowMs: number): WsAnnounceOutcome<C> {
    const hashKey = a.hashKey;
    const peerKey = a.peerKey;
    let t = this.#torrents.get(hashKey);
    if (a.event === EVENT.stopped) {
      if (t !== undefined) this.#remove(hashKey, t, peerKey);
      t = this.#torrents.get(hashKey);
      return this.#outcome(t, null, []);
    }
    const i = t?.at.get(peerKey);
    let peer = i === undefined ? undefined : t!.peers[i];
    if (peer !== undefined && peer.conn !== conn) {
      // The same peer_id from another connection (a reconnect): the new one takes its place.
      this.#remove(hashKey, t!, peerKey);
      peer = undefined;
      t = this.#torrents.get(hashKey);
    }
    if (peer === undefined) {
      const why = this.#refusal(t, conn);
      if (why !== null) {
        this.refused++;
        return this.#outcome(t, why, []);
      }
      if (t === undefined) {
        t = { peers: [], at: new Map(), seeders: 0, downloaded: 0 };
        this.#torrents.set(hashKey, t);
      }
      peer = {
        key: peerKey,
        conn,
        seeding: false,
        seenMs: nowMs,
        relayTokens: 2 * this.#limits.peerRelaysPerSecond,
        relaysAtMs: nowMs,
      };
      t.at.set(peerKey, t.peers.length);
      t.peers.push(peer);
      this.#peers++;
      let mine = this.#byConn.get(conn);
      if (mine === undefined) this.#byConn.set(conn, mine = new Map());
      const keys = mine.get(hashKey);
      if (keys === undefined) mine.set(hashKey, [peerKey]);
      else keys.push(peerKey);
    } else if (a.event === EVENT.completed && a.seeding && !peer.seeding) {
      // A completion counts only for a peer held before it, as for UDP and HTTP.
      t!.downloaded++;
    }
    peer.seenMs = nowMs;
    if (peer.seeding !== a.seeding) {
      const d = a.seeding ? 1 : -1;
      t!.seeders += d;
      this.#seeders += d;
      peer.seeding = a.seeding;
    }
    const { targets, limited } = this.#sample(t!, peer, a.numwant, nowMs);
    return this.#outcome(t, null, targets, limited);
  }

  /**
   * The connection of the peer `toPeerKey` in the torrent `hashKey` (both binary strings), for an
   * answer at `nowMs`; null when it is gone, {@link LIMITED} when it had its fill of relayed
   * messages (answers need the peer's id, which every peer it offered to has seen: a stranger
   * could otherwise flood it at the message rate of every connection it opens).
   */
  answerTarget(hashKey: string, toPeerKey: string, nowMs: number): C | typeof LIMITED | null {
    const t = this.#torrents.get(hashKey);
    const i = t?.at.get(toPeerKey);
    if (i === undefined) return null;
    const peer = t!.peers[i];
    if (!this.#hasRoom(peer, nowMs)) return LIMITED;
    peer.relayTokens--;
    return peer.conn;
  }

  /** Refills `p`'s bucket to `nowMs`; whether one more message may be relayed to it. */
  #hasRoom(p: Peer<C>, nowMs: number): boolean {
    const rate = this.#limits.peerRelaysPerSecond;
    if (rate === 0) return true;
    p.relayTokens = Math.min(2 * rate, p.relayTokens + (nowMs - p.relaysAtMs) * rate / 1000);
    p.relaysAtMs = nowMs;
    return p.relayTokens >= 1;
  }

  /** Scrape counts of a torrent, or null when it has no WebSocket peers. */
  scrape(
    infoHash: Uint8Array,
  ): { complete: number; incomplete: number; downloaded: number } | null {
    const t = this.#torrents.get(toBinaryString(infoHash));
    if (t === undefined) return null;
    return {
      complete: t.seeders,
      incomplete: t.peers.length - t.seeders,
      downloaded: t.downloaded,
    };
  }

  /**
   * The scrape counts of the `k` torrents with the most peers (most first), with their info_hash
   * as a binary string: a WebSocket full scrape, bounded. One pass over the torrents with a
   * k-entry min-heap.
   */
  top(k: number): WsScrapeEntry[] {
    const heap: [number, string, Torrent<C>][] = [];
    const less = (i: number, j: number) => heap[i][0] < heap[j][0];
    const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
    for (const [key, t] of this.#torrents) {
      const n = t.peers.length;
      if (heap.length === k) {
        if (k === 0 || n <= heap[0][0]) continue;
        heap[0] = [n, key, t];
        // Sift down.
        for (let i = 0;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < k && less(l, m)) m = l;
          if (r < k && less(r, m)) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      } else {
        heap.push([n, key, t]);
        // Sift up.
        for (let i = heap.length - 1; i > 0;) {
          const p = (i - 1) >> 1;
          if (!less(i, p)) break;
          swap(i, p);
          i = p;
        }
      }
    }
    return heap.sort((a, b) => b[0] - a[0]).map(([n, hashKey, t]) => ({
      hashKey,
      complete: t.seeders,
      incomplete: n - t.seeders,
      downloaded: t.downloaded,
    }));
  }

  /** True while `conn` holds a peer in some torrent. */
  holds(conn: C): boolean {
    return (this.#byConn.get(conn)?.size ?? 0) > 0;
  }

  /** Removes every peer of a closed connection; returns how many. */
  closeConnection(conn: C): number {
    const mine = this.#byConn.get(conn);
    if (mine === undefined) return 0;
    this.#byConn.delete(conn);
    let n = 0;
    for (const [hashKey, keys] of mine) {
      const t = this.#torrents.get(hashKey);
      if (t === undefined) continue;
      for (const key of keys) if (this.#remove(hashKey, t, key, false)) n++;
    }
    return n;
  }

  /** Removes the peers that have not announced since `nowMs - timeoutMs`; returns how many. */
  expire(nowMs: number, timeoutMs: number): number {
    let n = 0;
    for (const [hashKey, t] of this.#torrents) {
      for (let i = t.peers.length - 1; i >= 0; i--) {
        if (nowMs - t.peers[i].seenMs > timeoutMs) {
          this.#remove(hashKey, t, t.peers[i].key);
          n++;
        }
      }
    }
    return n;
  }

  #refusal(t: Torrent<C> | undefined, conn: C): string | null {
    const l = this.#limits;
    if (this.#peers >= l.peersMax) return "the tracker is full";
    if (t !== undefined && t.peers.length >= l.torrentPeersMax) return "the torrent is full";
    if ((this.#byConn.get(conn)?.size ?? 0) >= l.connectionTorrentsMax) {
      return `at most ${l.connectionTorrentsMax} torrents per connection`;
    }
    return null;
  }

  #outcome(
    t: Torrent<C> | undefined,
    refused: string | null,
    targets: WsTarget<C>[],
    limited = 0,
  ): WsAnnounceOutcome<C> {
    const complete = t?.seeders ?? 0;
    return { refused, complete, incomplete: (t?.peers.length ?? 0) - complete, targets, limited };
  }

  /**
   * Up to `k` other peers of `t`, chosen at random, never on the asker's connection, and only
   * peers with room for another offer (a stranger announcing into a torrent as fast as allowed
   * would otherwise flood its few peers with offers until they are closed as slow readers);
   * `limited` counts the offers that found no peer because those they could go to had no room.
   */
  #sample(
    t: Torrent<C>,
    self: Peer<C>,
    k: number,
    nowMs: number,
  ): { targets: WsTarget<C>[]; limited: number } {
    const out: WsTarget<C>[] = [];
    const n = t.peers.length;
    if (k <= 0 || n <= 1) return { targets: out, limited: 0 };
    let full = 0;
    const ok = (p: Peer<C>) => {
      if (p === self || p.conn === self.conn) return false;
      if (this.#hasRoom(p, nowMs)) return true;
      full++;
      return false;
    };
    const take = (p: Peer<C>) => {
      p.relayTokens--;
      out.push(p);
    };
    if (n - 1 <= k) {
      for (const p of t.peers) if (out.length < k && ok(p)) take(p);
    } else {
      // Distinct random picks; a few tries per offer, then the rest in order from a random
      // start. `picked` is a list: k is at most the offers of one announce (10), where a search
      // of a short array beats a Set.
      const picked: number[] = [];
      for (let tries = 0; out.length < k && tries < 4 * k; tries++) {
        const i = Math.floor(this.#random() * n);
        if (picked.includes(i)) continue;
        picked.push(i);
        if (ok(t.peers[i])) take(t.peers[i]);
      }
      // Bounded: where a stranger keeps most peers at their fill, a walk over the whole torrent
      // for every announce would cost more than the announce.
      const start = Math.floor(this.#random() * n);
      for (let j = 0; j < n && j < SCAN_PEERS_MAX && out.length < k; j++) {
        const i = (start + j) % n;
        if (!picked.includes(i)) {
          picked.push(i);
          if (ok(t.peers[i])) take(t.peers[i]);
        }
      }
    }
    return { targets: out, limited: Math.min(full, k - out.length) };
  }

  /**
   * Removes a peer (swap with the last); drops the torrent when it has nothing left to keep.
   * False when it was not there.
   */
  #remove(hashKey: string, t: Torrent<C>, peerKey: string, unlink = true): boolean {
    const i = t.at.get(peerKey);
    if (i === undefined) return false;
    const peer = t.peers[i];
    const last = t.peers.pop()!;
    if (last !== peer) {
      t.peers[i] = last;
      t.at.set(last.key, i);
    }
    t.at.delete(peerKey);
    this.#peers--;
    if (peer.seeding) {
      t.seeders--;
      this.#seeders--;
    }
    if (unlink) {
      const mine = this.#byConn.get(peer.conn);
      const keys = mine?.get(hashKey);
      const at = keys?.indexOf(peerKey) ?? -1;
      if (at >= 0) {
        keys!.splice(at, 1);
        if (keys!.length === 0) mine!.delete(hashKey);
      }
    }
    // A torrent goes with its last WebSocket peer (and its WebSocket downloads with it): the
    // table holds no more torrents than peers.
    if (t.peers.length === 0) this.#torrents.delete(hashKey);
    return true;
  }
}
