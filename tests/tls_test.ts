/**
 * HTTPS: `listen.tls` serves announce and scrape with the certificate of `listen.tcp.tls_cert`
 * (a self-signed one the test makes with openssl), checked with curl; the swarm is the one of the
 * plain listeners; a missing certificate or key stops the start with a message naming it.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { randomHash } from "./support/clients.ts";
import { bdecode, urlencodeBytes } from "./support/http.ts";
import { metric, startFlags, TrackerProcess, withConfiguredTracker } from "./support/process.ts";
import { needs } from "./requirements.ts";
import { makeCertificate } from "./support/tls.ts";
import { exchangeOverConn, randomId, WsClient } from "./support/ws_client.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: Uint8Array; err: string }> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: r.code, out: r.stdout, err: new TextDecoder().decode(r.stderr) };
}

const tlsConf = (dir: string) =>
  `listen.tls 127.0.0.1:0\nlisten.tcp.tls_cert ${dir}/cert.pem\nlisten.tcp.tls_key ${dir}/key.pem\n`;

/** A tracker with a TLS listener (and the plain ones), its certificate in the tracker's directory. */
function withTlsTracker(fn: (t: TrackerProcess, dir: string) => Promise<void>): Promise<void> {
  return withConfiguredTracker(
    (dir) => {
      makeCertificate(dir);
      return tlsConf(dir);
    },
    fn,
    { listeners: 3 },
  );
}

Deno.test({
  name: "HTTPS announce and scrape with curl against listen.tls; the same swarm as plain HTTP",
  ...needs("curl"),
  async fn() {
    await withTlsTracker(async (t, dir) => {
      strictEqual(t.tls.length, 1);
      const hash = randomHash();
      const q = `info_hash=${urlencodeBytes(hash)}&peer_id=-TR3000-abcdefghijkl&compact=1`;
      const curl = (url: string) => run("curl", ["-sS", "--cacert", `${dir}/cert.pem`, url]);
      const https = `https://127.0.0.1:${t.tls[0]}`;
      let r = await curl(`${https}/announce?${q}&port=6881&left=0`);
      strictEqual(r.code, 0, r.err);
      const a = bdecode(r.out);
      deepStrictEqual([a.complete, a.incomplete], [1, 0]);
      // Over plain HTTP on the tcp listener: the same torrent.
      r = await curl(`http://127.0.0.1:${t.tcp[0]}/announce?${q}&port=6882&left=5`);
      strictEqual(bdecode(r.out).complete, 1);
      r = await curl(`${https}/scrape?info_hash=${urlencodeBytes(hash)}`);
      strictEqual(r.code, 0, r.err);
      const files = bdecode(r.out).files;
      const entry = (files instanceof Map ? [...files.values()] : Object.values(files))[0] as {
        complete: number;
        incomplete: number;
      };
      deepStrictEqual([entry.complete, entry.incomplete], [1, 1]);
      // The certificate is checked (no --cacert: refused), and plain HTTP gets no answer there.
      r = await run("curl", ["-sS", `${https}/stats?mode=version`]);
      ok(r.code !== 0, "an unknown certificate is refused by curl");
      r = await run("curl", [
        "-sS",
        "-m",
        "5",
        `http://127.0.0.1:${t.tls[0]}/stats?mode=version`,
      ]);
      ok(r.code !== 0, "no plain HTTP on the TLS listener");
    });
  },
});

Deno.test({
  name: "wss:// on the TLS listener: the WebSocket tracker over TLS, the same WebSocket swarm",
  ...needs("curl"),
  fn: () =>
    withTlsTracker(async (t, dir) => {
      const hash = randomId();
      const caCerts = [await Deno.readTextFile(`${dir}/cert.pem`)];
      const secure = await Deno.connectTls({ hostname: "127.0.0.1", port: t.tls[0], caCerts });
      try {
        const reply = await exchangeOverConn(secure, "/announce", {
          action: "announce",
          info_hash: hash,
          peer_id: randomId(),
          left: 0,
        });
        deepStrictEqual([reply.action, reply.complete, reply.incomplete], ["announce", 1, 0]);
        // A ws:// client on the plain listener sees the wss:// peer.
        const plain = await WsClient.connect(`ws://127.0.0.1:${t.tcp[0]}/announce`);
        try {
          plain.send({ action: "announce", info_hash: hash, peer_id: randomId(), left: 1 });
          deepStrictEqual([(await plain.next()).complete, await plain.pending], [1, 0]);
        } finally {
          await plain.close();
        }
      } finally {
        secure.close();
      }
    }),
});

Deno.test("listen.tls without its certificate, or with a missing file, stops the start and says why", async () => {
  const dir = await Deno.makeTempDir();
  const start = async (conf: string) => {
    await Deno.writeTextFile(`${dir}/c.conf`, conf);
    const r = await new Deno.Command(Deno.execPath(), {
      args: [...startFlags(), `--allow-read=${dir}`, `${ROOT}main.ts`, "-f", `${dir}/c.conf`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, err: new TextDecoder().decode(r.stderr) };
  };
  try {
    let r = await start("listen.tls 127.0.0.1:0\n");
    strictEqual(r.code, 1);
    strictEqual(
      r.err,
      "listen.tls needs listen.tcp.tls_cert and listen.tcp.tls_key (the PEM certificate and key)\n",
    );
    r = await start(tlsConf(dir));
    strictEqual(r.code, 1);
    match(r.err, new RegExp(`^listen\\.tcp\\.tls_cert ${dir}/cert\\.pem: No such file`));
    await Deno.writeTextFile(`${dir}/cert.pem`, "not a certificate\n");
    r = await start(tlsConf(dir));
    strictEqual(r.code, 1);
    match(r.err, /listen\.tcp\.tls_cert .*cert\.pem: not a PEM file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "SIGHUP serves the TLS listeners with the renewed certificate, and keeps it when the files are bad",
  ...needs("curl"),
  async fn() {
    await withTlsTracker(async (t, dir) => {
      const https = `https://127.0.0.1:${t.tls[0]}/stats?mode=version`;
      const curl = (ca: string) => run("curl", ["-sS", "--cacert", ca, https]);
      strictEqual((await curl(`${dir}/cert.pem`)).code, 0);
      // Renewed: a new key and certificate in place of the old files.
      await Deno.copyFile(`${dir}/cert.pem`, `${dir}/old.pem`);
      makeCertificate(dir);
      let reloaded = t.waitFor(
        /SIGHUP: TLS certificate reloaded from .*cert\.pem \(1 listener\)\n/,
      );
      Deno.kill(t.pid, "SIGHUP");
      await reloaded;
      strictEqual((await curl(`${dir}/cert.pem`)).code, 0, "the new certificate is served");
      ok((await curl(`${dir}/old.pem`)).code !== 0, "the old one is not");
      // A broken file: the previous certificate stays.
      await Deno.writeTextFile(`${dir}/key.pem`, "-----BEGIN PRIVATE KEY-----\nbroken\n");
      reloaded = t.waitFor(/SIGHUP: keeping the previous TLS certificate: .+\n/);
      Deno.kill(t.pid, "SIGHUP");
      await reloaded;
      strictEqual((await curl(`${dir}/cert.pem`)).code, 0, "still served");
    });
  },
});

Deno.test({
  name: "TLS that clients get wrong is counted, not logged: not TLS, an over-long record, an alert",
  ...needs("curl"),
  async fn() {
    await withTlsTracker(async (t) => {
      const cases = [
        // Plain HTTP on the TLS port.
        new TextEncoder().encode("GET /announce HTTP/1.1\r\nHost: x\r\n\r\n"),
        // A handshake record longer than TLS allows.
        Uint8Array.of(0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0xff, 0xfb),
        // A client's fatal alert "unknown CA": what a client sends that does not trust the
        // certificate.
        Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30),
      ];
      const buf = new Uint8Array(4096);
      for (const bytes of cases) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.tls[0] });
        try {
          await conn.write(bytes);
          // The tracker may answer with an alert of its own, then closes.
          while (await conn.read(buf) !== null);
        } catch {
          // Reset by the tracker: closed all the same.
        } finally {
          conn.close();
        }
      }
      strictEqual(await metric(t.tcp[0], "opentracker_http_tls_errors_total"), cases.length);
      strictEqual(await metric(t.tcp[0], "opentracker_http_connection_failures_total"), 0);
      ok(!/failed/i.test(t.output()), `logged:\n${t.output()}`);
    });
  },
});
