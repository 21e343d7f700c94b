/**
 * Closed mode against a running tracker process: white- and blacklists over HTTP and UDP,
 * SIGHUP reloads (edited file, deleted file), and FIFO changesets written by another process
 * while announces continue.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { writeAnnounceRequest, writeConnectRequest } from "../src/protocol/udp.ts";
import { toHex } from "../src/util/hex.ts";
import { randomHash, receiveWithTimeout } from "./support/clients.ts";
import { bdecode, httpGet, latin1, urlencodeBytes } from "./support/http.ts";
import { startFlags, withConfiguredTracker } from "./support/process.ts";

const REFUSAL = "Requested download is not authorized for use with this tracker.";

const withClosedTracker = withConfiguredTracker;

/** "ok" when the HTTP announce was served, "refused" for the access-list failure reason. */
async function httpAnnounce(port: number, hash: Uint8Array): Promise<"ok" | "refused"> {
  const res = await httpGet(
    "127.0.0.1",
    port,
    `/announce?info_hash=${urlencodeBytes(hash)}&port=9&left=1`,
  );
  strictEqual(res.status, 200);
  const d = bdecode(res.body);
  if (d["failure reason"]) {
    strictEqual(latin1(d["failure reason"]), REFUSAL);
    return "refused";
  }
  return "ok";
}

/** "ok" for an announce reply, "refused" for the BEP 15 error with the refusal text. */
async function udpAnnounce(port: number, hash: Uint8Array): Promise<"ok" | "refused"> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  try {
    const buf = new Uint8Array(2048);
    const req = new Uint8Array(98);
    writeConnectRequest(req, 1);
    await sock.send(req.subarray(0, 16), target);
    const id = (await receiveWithTimeout(sock, buf, 5000)).slice(8, 16);
    writeAnnounceRequest(req, { connectionId: id, transactionId: 2, infoHash: hash, port: 9 });
    await sock.send(req, target);
    const reply = await receiveWithTimeout(sock, buf, 5000);
    if (reply[3] === 3) {
      strictEqual(new TextDecoder().decode(reply.subarray(8)), REFUSAL);
      return "refused";
    }
    strictEqual(reply[3], 1);
    return "ok";
  } finally {
    sock.close();
  }
}

Deno.test("a whitelist admits only listed hashes, a blacklist refuses them, over HTTP and UDP", async () => {
  const listed = randomHash();
  const other = randomHash();
  for (const mode of ["whitelist", "blacklist"] as const) {
    await withClosedTracker((dir) => {
      Deno.writeTextFileSync(`${dir}/list`, `# list\n${toHex(listed)}\n`);
      return `access.${mode} ${dir}/list`;
    }, async (t) => {
      const expectListed = mode === "whitelist" ? "ok" : "refused";
      const expectOther = mode === "whitelist" ? "refused" : "ok";
      strictEqual(await httpAnnounce(t.tcp[0], listed), expectListed, `${mode} http listed`);
      strictEqual(await httpAnnounce(t.tcp[0], other), expectOther, `${mode} http other`);
      strictEqual(await udpAnnounce(t.udp[0], listed), expectListed, `${mode} udp listed`);
      strictEqual(await udpAnnounce(t.udp[0], other), expectOther, `${mode} udp other`);
      // Scrapes and stops are not checked.
      const scrape = await httpGet(
        "127.0.0.1",
        t.tcp[0],
        `/scrape?info_hash=${urlencodeBytes(other)}`,
      );
      strictEqual(scrape.status, 200);
      const stop = await httpGet(
        "127.0.0.1",
        t.tcp[0],
        `/announce?info_hash=${urlencodeBytes(other)}&port=9&event=stopped`,
      );
      ok(!latin1(stop.body).includes("failure"));
      ok(/Loaded 1 info_hashes from .*list/.test(t.output()), t.output());
    });
  }
});

Deno.test("SIGHUP reloads an edited list and keeps the old one when the file is gone", async () => {
  const first = randomHash();
  const second = randomHash();
  await withClosedTracker((dir) => {
    Deno.writeTextFileSync(`${dir}/white`, `${toHex(first)}\n`);
    return `access.whitelist ${dir}/white`;
  }, async (t, dir) => {
    strictEqual(await httpAnnounce(t.tcp[0], first), "ok");
    strictEqual(await httpAnnounce(t.tcp[0], second), "refused");
    await Deno.writeTextFile(`${dir}/white`, `${toHex(second)}\nnot a hash\n`);
    const reloaded = t.waitFor(
      /SIGHUP: Loaded 1 info_hashes .*1 line is not a hash and was ignored \(line 2\)/,
    );
    Deno.kill(t.pid, "SIGHUP");
    await reloaded;
    strictEqual(await httpAnnounce(t.tcp[0], second), "ok");
    strictEqual(await udpAnnounce(t.udp[0], first), "refused");

    await Deno.remove(`${dir}/white`);
    const kept = t.waitFor(/SIGHUP: keeping the previous list of 1 hashes/);
    Deno.kill(t.pid, "SIGHUP");
    await kept;
    strictEqual(await httpAnnounce(t.tcp[0], second), "ok");
    strictEqual(await httpAnnounce(t.tcp[0], first), "refused");
  });
});

Deno.test("SIGHUP keeps the old list when the file turned into garbage; an empty file empties it", async () => {
  const first = randomHash();
  await withClosedTracker((dir) => {
    Deno.writeTextFileSync(`${dir}/white`, `${toHex(first)}\n`);
    return `access.whitelist ${dir}/white`;
  }, async (t, dir) => {
    // Half-written or garbage: lines, none of them a hash.
    await Deno.writeTextFile(`${dir}/white`, "<html>\n502 Bad Gateway\n0123abc");
    const kept = t.waitFor(
      /SIGHUP: keeping the previous list of 1 hashes: .*white: no info_hash in it, and 3 lines are not a hash \(lines 1, 2, 3\): not an access list, or written only in part/,
    );
    Deno.kill(t.pid, "SIGHUP");
    await kept;
    strictEqual(await httpAnnounce(t.tcp[0], first), "ok");
    // An empty file (or one of comments only) is a deliberate empty list: everyone is refused.
    await Deno.writeTextFile(`${dir}/white`, "# nothing allowed today\n");
    const emptied = t.waitFor(/SIGHUP: Loaded 0 info_hashes from /);
    Deno.kill(t.pid, "SIGHUP");
    await emptied;
    strictEqual(await httpAnnounce(t.tcp[0], first), "refused");
  });
});

Deno.test("a whitelist that is garbage stops the start with exit status 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/white`, "not a hash\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...startFlags(),
        `--allow-read=${dir}`,
        new URL("../main.ts", import.meta.url).pathname,
        "-i",
        "127.0.0.1",
        "-p",
        "0",
        "-w",
        `${dir}/white`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    strictEqual(out.code, 1);
    strictEqual(
      new TextDecoder().decode(out.stderr),
      `Refusing the accesslist file ${dir}/white: no info_hash in it, and 1 line is not a hash ` +
        "(lines 1): not an access list, or written only in part\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FIFO changesets written by another process apply while announces continue", async () => {
  const inFile = randomHash();
  const added = randomHash();
  await withClosedTracker((dir) => {
    Deno.writeTextFileSync(`${dir}/white`, `${toHex(inFile)}\n`);
    for (const f of ["add.fifo", "del.fifo"]) {
      new Deno.Command("mkfifo", { args: [`${dir}/${f}`] }).outputSync();
    }
    return `access.whitelist ${dir}/white\naccess.fifo_add ${dir}/add.fifo\naccess.fifo_delete ${dir}/del.fifo`;
  }, async (t, dir) => {
    const write = async (fifo: string, line: string) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", `printf '%s\\n' "$1" > "$2"`, "sh", line, `${dir}/${fifo}`],
      }).output();
      ok(out.success, `writing ${fifo}`);
    };
    strictEqual(await httpAnnounce(t.tcp[0], added), "refused");
    const addSeen = t.waitFor(new RegExp(`access.fifo_add: ${toHex(added, 0, 20, true)}`));
    await write("add.fifo", toHex(added));
    await addSeen;
    strictEqual(await httpAnnounce(t.tcp[0], added), "ok");
    strictEqual(await udpAnnounce(t.udp[0], added), "ok");

    const delSeen = t.waitFor(new RegExp(`access.fifo_delete: ${toHex(inFile, 0, 20, true)}`));
    await write("del.fifo", `${toHex(inFile)} trailing text`);
    await delSeen;
    strictEqual(await httpAnnounce(t.tcp[0], inFile), "refused");

    // A reload merges: the changesets are emptied, the file rules again.
    const reloaded = t.waitFor(/SIGHUP: Loaded 1 info_hashes/);
    Deno.kill(t.pid, "SIGHUP");
    await reloaded;
    deepStrictEqual(
      [await httpAnnounce(t.tcp[0], inFile), await httpAnnounce(t.tcp[0], added)],
      ["ok", "refused"],
    );
  });
});

Deno.test("a non-FIFO file at a FIFO path stops the start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/white`, "");
    await Deno.writeTextFile(`${dir}/add`, "plain file");
    const conf = `${dir}/c.conf`;
    await Deno.writeTextFile(conf, `access.whitelist ${dir}/white\naccess.fifo_add ${dir}/add\n`);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: [
        ...startFlags(),
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        new URL("../main.ts", import.meta.url).pathname,
        "-f",
        conf,
        "-i",
        "127.0.0.1",
        "-p",
        "0",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    strictEqual(bad.code, 1);
    ok(new TextDecoder().decode(bad.stderr).includes(`Found Non-FIFO file at ${dir}/add`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
