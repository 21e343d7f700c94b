import { AnnounceRequest } from "../types.ts";
import { Prng } from "../util/random.ts";
import { Swarm } from "./swarm.ts";
import { AnnounceResult, REPLY } from "./announce_result.ts";

const NOW = 29_000_000;
const TORRENTS = 100_000;
const prng = new Prng([9, 8, 7, 6]);
const swarm = new Swarm({ prng: new Prng([1, 2, 3, 4]), hashSeed: Uint32Array.of(4, 3, 2, 1) });
const req = new AnnounceRequest();
const out = new AnnounceResult();
const reply = new Uint8Array(18 * 512);
const hashes: Uint8Array[] = [];
for (let i = 0; i < TORRENTS; i++) {
  const h = new Uint8Array(20);
  for (let b = 0; b < 20; b++) h[b] = prng.below(256);
  hashes.push(h);
}

function setPeer(i: number): void {
  req.ip[10] = req.ip[11] = 0xff;
  req.ip[12] = 10;
  req.ip[13] = (i >> 16) & 255;
  req.ip[14] = (i >> 8) & 255;
  req.ip[15] = i & 255;
  req.port = 6881;
}

// 1,000,000 peers: 10 per torrent on average, a skewed few with thousands.
for (let i = 0; i < 1_000_000; i++) {
  const t = i % 10 === 0 ? prng.below(100) : prng.below(TORRENTS);
  req.infoHash.set(hashes[t]);
  setPeer(i);
  req.seeding = i % 4 !== 0;
  req.numwant = 0;
  swarm.announce(req, NOW, REPLY.none, false, out);
}

let n = 0;
Deno.bench(
  "Swarm.announce + writePeers: renew an existing peer, numwant 50, HTTP selection",
  () => {
    const i = n++ % 1_000_000;
    const t = i % 10 === 0 ? i % 100 : (i * 7919) % TORRENTS;
    req.infoHash.set(hashes[t]);
    setPeer(i);
    req.numwant = 50;
    swarm.announce(req, NOW, REPLY.bothFamilies, false, out);
    swarm.writePeers(out, 1, reply, swarm.writePeers(out, 0, reply, 0));
  },
);

let m = 2_000_000;
Deno.bench(
  "Swarm.announce + writePeers: insert a new peer into a random torrent, numwant 30, UDP",
  () => {
    req.infoHash.set(hashes[m % TORRENTS]);
    setPeer(m++);
    req.numwant = 30;
    swarm.announce(req, NOW, REPLY.ownFamily, false, out);
    swarm.writePeers(out, 0, reply, 0);
  },
);

const counts = { seeders: 0, leechers: 0, downloaded: 0 };
let s = 0;
Deno.bench("Swarm.scrape: one known torrent", () => {
  swarm.scrape(hashes[s++ % TORRENTS], 0, NOW, counts);
});

let w = 0;
Deno.bench("Swarm.writePeers: 30 of about 1,000 peers (a popular torrent), no announce", (b) => {
  req.infoHash.set(hashes[0]);
  setPeer(0);
  req.numwant = 30;
  swarm.announce(req, NOW, REPLY.ownFamily, false, out);
  b.start();
  for (let k = 0; k < 1000; k++) w += swarm.writePeers(out, 0, reply, 0);
  b.end();
});
