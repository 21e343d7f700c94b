import { ok, strictEqual } from "node:assert/strict";
import { MetricsSource, renderMetrics } from "./metrics.ts";
import { metricsSource, statsSource } from "./_test_stats.ts";
import { ACTION_KIND, PROTOCOL, requestIndex } from "./counters.ts";

function source(): MetricsSource {
  const s = statsSource();
  s.counters.requests[requestIndex(PROTOCOL.udp, true, ACTION_KIND.announce)] = 42;
  return metricsSource({
    ...s,
    rssBytes: 1000,
    heapUsedBytes: 500,
    peerStoreBytes: 300,
    eventLoopLagSeconds: 0.25,
    statsScans: 1,
    connections: {
      open: 3,
      ceiling: 900,
      peak: 5,
      accepted: 7,
      acceptErrors: 0,
      tlsErrors: 0,
      failures: 0,
      capWaits: 0,
      byState: [["idle", 2], ["request", 1]],
      refused: [["per_address", 4]],
      closed: [["idle_timeout", 6]],
    },
    torrentBudget: 1000,
    evictedTorrents: 2,
    emptyTorrents: 1,
  });
}

Deno.test("renderMetrics() is valid Prometheus text: HELP and TYPE before each family", () => {
  const text = renderMetrics(source());
  ok(text.endsWith("\n"));
  const declared = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-z_]+) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") declared.set(meta[2], meta[3]);
      continue;
    }
    const sample = /^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+]+)$/.exec(line);
    ok(sample, `not a sample line: ${line}`);
    const type = declared.get(sample[1]);
    ok(type, `${sample[1]} has no TYPE before it`);
    // Counters end in _total, gauges do not.
    strictEqual(sample[1].endsWith("_total"), type === "counter", sample[1]);
    const series = sample[1] + (sample[2] ?? "");
    ok(!seen.has(series), `duplicate series ${series}`);
    seen.add(series);
  }
});

Deno.test("renderMetrics() reports the counters and gauges it is given", () => {
  const text = renderMetrics(source());
  const has = (line: string) => ok(text.includes(`\n${line}\n`), line);
  has('opentracker_requests_total{protocol="udp",family="ipv6",action="announce"} 42');
  has('opentracker_requests_total{protocol="http",family="ipv4",action="announce"} 0');
  has('opentracker_http_errors_total{code="400",reason="parse"} 6');
  has('opentracker_http_errors_total{code="402",reason="not_modest"} 1');
  has('opentracker_http_connections{state="idle"} 2');
  has('opentracker_http_connections_refused_total{reason="per_address"} 4');
  has("opentracker_http_connections_max 900");
  has("opentracker_torrents_evicted_total 2");
  has("opentracker_peers 11");
  has("opentracker_event_loop_lag_seconds 0.25");
  has("opentracker_completed_total 4");
  // HTTP has no connect action and UDP no stats requests.
  ok(!text.includes('protocol="http",family="ipv4",action="connect"'));
  ok(!text.includes('protocol="udp",family="ipv4",action="stats"'));
});
