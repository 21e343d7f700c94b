/**
 * Live sync sockets. Multicast, as opentracker: a receiving socket bound to group:port
 * (opentracker: 0.0.0.0:port) that joins the group on the listen interface, and a sending
 * socket bound to listen-ip:port with TTL 1 and multicast loopback off. Unicast (our alternative for networks
 * without multicast): one socket on listen-ip:port that receives and sends to every configured
 * node, each packet sealed with an HMAC.
 *
 * Packets leave through a bounded queue drained by one async sender, so a slow or failing
 * socket costs dropped sync packets (counted), never memory or announce latency.
 */

import {
  LIVESYNC,
  LivesyncOutbox,
  livesyncRecordBytes,
  sealLivesync,
} from "../protocol/livesync.ts";
import { Counters } from "../stats/counters.ts";
import { LIMITS } from "../types.ts";
import { parseIp } from "../util/ip.ts";
import { LivesyncReceiver } from "./livesync_handler.ts";
import { ThrottledLog } from "../util/throttled_log.ts";

/** Bytes a receive buffer needs: the largest packet plus one byte to detect longer ones. */
const RECEIVE_BYTES = LIVESYNC.packetBytesMax + 1;

/** Options for {@link startLivesync}. */
export interface LivesyncSocketOptions {
  /** IPv4 interface address and port (`livesync.cluster.listen`). */
  host: string;
  port: number;
  group: string;
  /** Unicast destinations; empty = multicast. */
  peers: readonly { host: string; port: number }[];
  key: Uint8Array | null;
  flushDelaySeconds: number;
  trackerId: Uint8Array;
  receiver: LivesyncReceiver;
  counters: Counters;
  /** Seconds since the epoch. */
  clock: () => number;
  log: (line: string) => void;
}

/** A running live sync node. */
export interface LivesyncNode {
  /** Where local announces queue their records. */
  readonly outbox: LivesyncOutbox;
  /** Settles when the group is joined; rejects when it cannot be. */
  readonly ready: Promise<void>;
  /** Sends what is queued, closes the sockets and waits for the loops. */
  close(): Promise<void>;
}

/** Binds the sockets (throws when a bind fails) and starts the loops. */
export function startLivesync(o: LivesyncSocketOptions): LivesyncNode {
  const unicast = o.peers.length > 0;
  const rx = Deno.listenDatagram({
    transport: "udp",
    // Bound to the group rather than 0.0.0.0 (opentracker): unicast datagrams to the port, e.g.
    // a flood from the internet, are then refused by the kernel and never reach the event loop.
    hostname: unicast ? o.host : o.group,
    port: o.port,
    reuseAddress: !unicast,
  });
  let tx: Deno.DatagramConn;
  try {
    tx = unicast ? rx : Deno.listenDatagram({
      transport: "udp",
      hostname: o.host,
      port: o.port,
      reuseAddress: true,
      loopback: false,
    });
  } catch (error) {
    rx.close();
    throw error;
  }
  const ready = unicast ? Promise.resolve() : (async () => {
    await rx.joinMulticastV4(o.group, o.host);
    // The sending socket joins too, only to reach its TTL and loopback options.
    const membership = await tx.joinMulticastV4(o.group, o.host);
    await membership.setTTL(1);
    await membership.setLoopback(false);
  })();
  ready.catch(() => {}); // The caller awaits it; this keeps a failure from being unhandled.

  const destinations = unicast
    ? o.peers.map((p) => ({ transport: "udp" as const, hostname: p.host, port: p.port }))
    : [{ transport: "udp" as const, hostname: o.group, port: o.port }];
  const queue: Uint8Array[] = [];
  // Failures that may repeat for every packet (a peer unreachable, a packet that breaks the
  // receiver): a line per period at most, with a count.
  const sendLog = new ThrottledLog(o.log);
  const receiveLog = new ThrottledLog(o.log);
  let wake: (() => void) | null = null;
  let closing = false;
  const outbox = new LivesyncOutbox(
    o.trackerId,
    o.key === null ? 0 : LIVESYNC.trailerBytes,
    o.flushDelaySeconds * 1000,
    (packet) => {
      o.counters.livesyncSentRecords += recordCount(packet);
      if (queue.length >= LIMITS.livesyncSendQueuePackets) {
        o.counters.livesyncSendFailures += destinations.length;
        return;
      }
      const copy = new Uint8Array(LIVESYNC.packetBytesMax);
      copy.set(packet);
      const n = o.key === null
        ? packet.length
        : sealLivesync(copy, packet.length, o.key, o.clock());
      queue.push(copy.subarray(0, n));
      wake?.();
    },
  );

  const sender = (async () => {
    while (true) {
      const packet = queue.shift();
      if (packet === undefined) {
        if (closing) return;
        await new Promise<void>((resolve) => wake = resolve);
        wake = null;
        continue;
      }
      for (const to of destinations) {
        try {
          await tx.send(packet, to);
          o.counters.livesyncSentPackets++;
        } catch (error) {
          o.counters.livesyncSendFailures++;
          if (error instanceof Deno.errors.BadResource) return;
          sendLog.failed(`Live sync send to ${to.hostname}:${to.port}`, error, true);
        }
      }
    }
  })();

  const receiver = (async () => {
    const buf = new Uint8Array(RECEIVE_BYTES);
    const ip = new Uint8Array(16);
    while (true) {
      let data: Uint8Array;
      let addr: Deno.Addr;
      try {
        [data, addr] = await rx.receive(buf);
      } catch (error) {
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return;
        }
        receiveLog.failed("Live sync receive", error, true);
        continue;
      }
      if (!parseIp((addr as Deno.NetAddr).hostname, ip)) continue;
      try {
        o.receiver.receive(data, data.length, ip, o.clock());
      } catch (error) {
        receiveLog.failed("Live sync packet", error);
      }
    }
  })();

  const ticker = setInterval(() => outbox.tick(performance.now()), 250);
  return {
    outbox,
    ready,
    async close() {
      clearInterval(ticker);
      outbox.flushAll();
      closing = true;
      wake?.();
      await sender;
      rx.close();
      if (tx !== rx) tx.close();
      await receiver;
    },
  };
}

function recordCount(packet: Uint8Array): number {
  return (packet.length - LIVESYNC.headerBytes) / livesyncRecordBytes(packet[7]);
}
