import { ok, strictEqual } from "node:assert/strict";
import { Prng } from "../util/random.ts";
import { Admission } from "./admission.ts";

const prng = () => new Prng([1, 2, 3, 4]);

Deno.test("Admission without budgets admits everyone and never puts peers on probation", () => {
  const a = new Admission({ peerTimeoutMinutes: 45 }, prng());
  ok(a.admitPeer(1e9, 1e12));
  strictEqual(a.startAge(true, 1e12, 1e9), 0);
});

Deno.test("Admission: below the watermark yes, at the budget or the torrent cap no", () => {
  const a = new Admission(
    { peerBudget: 1000, watermark: 0.5, torrentPeersMax: 100, peerTimeoutMinutes: 45 },
    prng(),
  );
  ok(a.admitPeer(50, 499));
  ok(!a.admitPeer(50, 1000));
  ok(!a.admitPeer(100, 0), "the per-torrent cap holds even when the tracker is empty");
  // Between watermark and budget, small swarms always get in.
  for (let i = 0; i < 100; i++) ok(a.admitPeer(9, 990));
});

Deno.test("Admission near the budget favours small swarms over large ones", () => {
  const a = new Admission({ peerBudget: 100000, watermark: 0.5, peerTimeoutMinutes: 45 }, prng());
  const rate = (swarm: number, peers: number) => {
    let yes = 0;
    for (let i = 0; i < 4000; i++) if (a.admitPeer(swarm, peers)) yes++;
    return yes / 4000;
  };
  const small = rate(20, 60000);
  const large = rate(5000, 60000);
  const fuller = rate(20, 95000);
  ok(small > large * 3, `small ${small}, large ${large}`);
  ok(fuller < small, `a fuller tracker admits less: ${fuller} < ${small}`);
  ok(large > 0, "large swarms still get some room");
});

Deno.test("Admission.startAge() shortens the first lifetime above a watermark", () => {
  const a = new Admission(
    {
      peerBudget: 1000,
      torrentBudget: 100,
      watermark: 0.7,
      probationMinutes: 10,
      peerTimeoutMinutes: 45,
    },
    prng(),
  );
  strictEqual(a.probationAge, 35);
  strictEqual(a.startAge(false, 100, 10), 0);
  strictEqual(a.startAge(false, 700, 10), 35, "above the peer watermark");
  strictEqual(a.startAge(true, 100, 71), 35, "a new torrent above the torrent watermark");
  strictEqual(a.startAge(false, 100, 71), 0, "an existing torrent is not new");
  // A probation as long as the timeout means none.
  strictEqual(
    new Admission({ probationMinutes: 45, peerTimeoutMinutes: 45 }, prng()).probationAge,
    0,
  );
});
