/**
 * Operations: the systemd unit (systemd-analyze verify), the installer into a staging root, the
 * cron watchdog against a live, a stopped and a hung tracker, and the refusal of a second
 * instance on the same port.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { INSTALL_DIRS, permissionFlags } from "../src/config/permission_flags.ts";
import { httpClient, randomHash } from "./support/clients.ts";
import { freePort, waitForPort } from "./support/ports.ts";
import { startFlags, startTrackerProcess } from "./support/process.ts";
import { needs } from "./requirements.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return { code: r.code, out: decoder.decode(r.stdout) + decoder.decode(r.stderr) };
}

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else out[p.slice(dir.length)] = decoder.decode(await Deno.readFile(p));
    }
  };
  await walk(dir);
  return out;
}

Deno.test("install.sh installs into a staging root, idempotently, and uninstalls", async () => {
  const root = await Deno.makeTempDir();
  const fake = `${root}.bin`;
  await Deno.writeTextFile(fake, "#!/bin/sh\necho fake\n");
  try {
    const first = await run("bash", [`${ROOT}scripts/install.sh`, "--binary", fake], {
      DESTDIR: root,
    });
    strictEqual(first.code, 0, first.out);
    match(
      first.out,
      new RegExp(`installed the executable ${fake} as ${root}/usr/local/bin/opentracker\n`),
    );
    const files = await digest(root);
    deepStrictEqual(Object.keys(files).sort(), [
      "/etc/opentracker/opentracker.conf",
      "/etc/systemd/system/opentracker.service",
      "/usr/local/bin/opentracker",
      "/usr/local/sbin/opentracker-watchdog",
    ]);
    strictEqual(
      files["/etc/opentracker/opentracker.conf"],
      await Deno.readTextFile(`${ROOT}opentracker.conf.sample`),
    );
    strictEqual((await Deno.stat(`${root}/usr/local/bin/opentracker`)).mode! & 0o777, 0o755);
    ok((await Deno.stat(`${root}/var/lib/opentracker`)).isDirectory);
    const unit = files["/etc/systemd/system/opentracker.service"];
    for (
      const line of [
        "ExecStart=/usr/local/bin/opentracker -f /etc/opentracker/opentracker.conf",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/opentracker",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
      ]
    ) ok(unit.split("\n").includes(line), `unit lacks ${line}`);

    // Idempotent: the same files, and the operator's configuration is never replaced.
    await Deno.writeTextFile(
      `${root}/etc/opentracker/opentracker.conf`,
      "listen.tcp_udp 0.0.0.0:6969\n",
    );
    const second = await run("bash", [`${ROOT}scripts/install.sh`, "--binary", fake], {
      DESTDIR: root,
    });
    strictEqual(second.code, 0, second.out);
    match(second.out, /kept the existing .*opentracker\.conf/);
    match(second.out, /unit .* is up to date/);
    match(second.out, /the executable .* as .*\/usr\/local\/bin\/opentracker is up to date/);
    match(second.out, /the watchdog .*opentracker-watchdog is up to date/);
    ok(!/installed/.test(second.out), second.out);
    const again = await digest(root);
    deepStrictEqual({ ...again, "/etc/opentracker/opentracker.conf": "" }, {
      ...files,
      "/etc/opentracker/opentracker.conf": "",
    });

    // A port below 1024 in the configuration grants exactly CAP_NET_BIND_SERVICE.
    await Deno.writeTextFile(
      `${root}/etc/opentracker/opentracker.conf`,
      "listen.tcp [::]:80\nlisten.udp 0.0.0.0:6969\n",
    );
    await run("bash", [`${ROOT}scripts/install.sh`, "--binary", fake], { DESTDIR: root });
    const low = await Deno.readTextFile(`${root}/etc/systemd/system/opentracker.service`);
    ok(low.includes("\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"));
    ok(low.includes("\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"));

    const un = await run("bash", [`${ROOT}scripts/install.sh`, "--uninstall"], { DESTDIR: root });
    strictEqual(un.code, 0, un.out);
    deepStrictEqual(Object.keys(await digest(root)), ["/etc/opentracker/opentracker.conf"]);
    await run("bash", [`${ROOT}scripts/install.sh`, "--uninstall", "--purge"], { DESTDIR: root });
    deepStrictEqual(Object.keys(await digest(root)), []);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(fake);
  }
});

Deno.test("install.sh without a binary writes a deno wrapper with the embedded permission set (and read access to the source, for the workers)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const r = await run("bash", [`${ROOT}scripts/install.sh`], {
      DESTDIR: root,
      DENO: Deno.execPath(),
      PATH: Deno.env.get("PATH") ?? "",
    });
    strictEqual(r.code, 0, r.out);
    const wrapper = await Deno.readTextFile(`${root}/usr/local/bin/opentracker`);
    // A deno outside the system directories (npm's, in the checkout or a home directory) is
    // copied beside the program: the unit's ProtectHome would hide it from the service.
    const real = await Deno.realPath(Deno.execPath());
    const system = /^\/(usr|opt|bin|snap)\//.test(real);
    const runDeno = system ? real : "/usr/local/lib/opentracker-deno/deno";
    ok(
      wrapper.includes(
        `exec "${runDeno}" run ${
          permissionFlags({ ...INSTALL_DIRS, source: "/usr/local/lib/opentracker-deno/src" })
            .join(" ")
        } --unstable-net "/usr/local/lib/opentracker-deno/main.ts"`,
      ),
      wrapper,
    );
    ok((await Deno.stat(`${root}/usr/local/lib/opentracker-deno/src/swarm/swarm.ts`)).isFile);
    if (!system) {
      const copy = await Deno.stat(`${root}/usr/local/lib/opentracker-deno/deno`);
      strictEqual(copy.size, (await Deno.stat(real)).size);
      strictEqual(copy.mode! & 0o111, 0o111);
      match(r.out, /with a copy of .*deno \(the service cannot see home directories\)/);
    }
    // Again: everything is up to date, and says so.
    const again = await run("bash", [`${ROOT}scripts/install.sh`], {
      DESTDIR: root,
      DENO: Deno.execPath(),
      PATH: Deno.env.get("PATH") ?? "",
    });
    strictEqual(again.code, 0, again.out);
    match(again.out, /the program .*opentracker-deno is up to date/);
    match(again.out, /the deno run wrapper .* is up to date/);
    ok(!/installed/.test(again.out), again.out);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("install.sh and the watchdog refuse wrong arguments before touching anything; -h helps", async () => {
  const root = await Deno.makeTempDir();
  try {
    let r = await run("bash", [`${ROOT}scripts/install.sh`, "--binary"], { DESTDIR: root });
    strictEqual(r.code, 2);
    strictEqual(
      r.out,
      "install.sh: --binary needs a file: the executable deno task compile built (./opentracker)\n",
    );
    r = await run("bash", [`${ROOT}scripts/install.sh`, "--binary", `${root}/nope`], {
      DESTDIR: root,
    });
    strictEqual(r.code, 1);
    strictEqual(
      r.out,
      `install.sh: --binary ${root}/nope: no such file (build it with deno task compile)\n`,
    );
    r = await run("bash", [`${ROOT}scripts/install.sh`, "--frobnicate"], { DESTDIR: root });
    strictEqual(r.code, 2);
    strictEqual(r.out, "install.sh: unknown argument: --frobnicate\n");
    deepStrictEqual([...Deno.readDirSync(root)], [], "nothing was created");
    r = await run("bash", [`${ROOT}scripts/install.sh`, "-h"]);
    strictEqual(r.code, 0);
    match(r.out, /^Installs opentracker-deno as a systemd service/);
    match(r.out, /--uninstall \[--purge\]/);

    const env = { OT_LOCK: `${root}/lock`, OT_LOG: `${root}/log`, OT_HTTP_PORT: "1" };
    r = await run("bash", [`${ROOT}scripts/watchdog.sh`, "-h"], env);
    strictEqual(r.code, 0);
    match(r.out, /^Cron watchdog for opentracker-deno/);
    match(r.out, /\n {2}OT_RESTART_CMD=/);
    r = await run("bash", [`${ROOT}scripts/watchdog.sh`, "--now"], env);
    strictEqual(r.code, 2);
    strictEqual(
      r.out,
      "opentracker-watchdog: unknown argument: --now (it takes none: settings come from the " +
        "environment or /etc/opentracker/watchdog.conf; -h lists them)\n",
    );
    deepStrictEqual([...Deno.readDirSync(root)], [], "no lock taken, no log written, no restart");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "systemd-analyze verify accepts the installed unit",
  ...needs("systemd"),
  async fn() {
    const root = await Deno.makeTempDir();
    const fake = `${root}.bin`;
    await Deno.writeTextFile(fake, "#!/bin/sh\n");
    try {
      await run("bash", [`${ROOT}scripts/install.sh`, "--binary", fake], { DESTDIR: root });
      // verify checks that ExecStart exists on this machine: point it at the staged binary.
      const unit = (await Deno.readTextFile(`${root}/etc/systemd/system/opentracker.service`))
        .replace("/usr/local/bin/opentracker", `${root}/usr/local/bin/opentracker`);
      const dir = await Deno.makeTempDir();
      await Deno.writeTextFile(`${dir}/opentracker.service`, unit);
      const r = await run("systemd-analyze", ["verify", `${dir}/opentracker.service`]);
      await Deno.remove(dir, { recursive: true });
      strictEqual(r.code, 0, r.out);
      strictEqual(r.out.trim(), "", r.out);
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(fake);
    }
  },
});

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("the watchdog leaves a healthy tracker alone and restarts a dead or hung one with its state", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const pidfile = `${dir}/tracker.pid`;
  await Deno.writeTextFile(`${dir}/c.conf`, `tracker.statefile ${dir}/state.bin\n`);
  const flags = [...startFlags(), `--allow-read=${dir}`, `--allow-write=${dir}`].join(" ");
  await Deno.writeTextFile(
    `${dir}/start.sh`,
    `setsid "${Deno.execPath()}" run ${flags} "${ROOT}main.ts" -f "${dir}/c.conf" ` +
      `-i 127.0.0.1 -p ${port} -P ${port} >> "${dir}/tracker.log" 2>&1 < /dev/null &\necho $! > "${pidfile}"\n`,
  );
  const env = {
    OT_HOST: "127.0.0.1",
    OT_HTTP_PORT: String(port),
    OT_UDP_PORT: String(port),
    // Generous: on a loaded machine a healthy tracker must not look hung (a hung one costs
    // two probes of this long).
    OT_TIMEOUT: "5",
    OT_RESTART_CMD: `sh ${dir}/start.sh`,
    OT_PIDFILE: pidfile,
    OT_LOCK: `${dir}/watchdog.lock`,
    OT_LOG: `${dir}/watchdog.log`,
    OT_STOP_WAIT: "10",
    NO_COLOR: "1",
  };
  const watchdog = () => run("bash", [`${ROOT}scripts/watchdog.sh`], env);
  const pid = async () => Number((await Deno.readTextFile(pidfile)).trim());
  try {
    // Nothing runs: the watchdog starts it.
    strictEqual((await watchdog()).code, 0);
    await waitForPort(port);
    const first = await pid();
    const http = httpClient("127.0.0.1", port);
    const h = randomHash();
    for (let p = 1; p <= 5; p++) await http.announce({ hash: h, port: p, numwant: 0 });

    // Healthy: no restart.
    strictEqual((await watchdog()).code, 0);
    strictEqual(await pid(), first);
    strictEqual(alive(first), true);

    // Dead (stopped by SIGTERM, which writes the state): restarted, peers intact.
    Deno.kill(first, "SIGTERM");
    while (alive(first)) await new Promise((r) => setTimeout(r, 20));
    strictEqual((await watchdog()).code, 0);
    await waitForPort(port);
    const second = await pid();
    ok(second !== first);
    const r = await http.announce({ hash: h, port: 1, numwant: 50 });
    strictEqual(r.peers.length, 5, "the five peers survived the restart");

    // Hung (SIGSTOP): probes time out, the watchdog stops it and starts a new one.
    Deno.kill(second, "SIGSTOP");
    strictEqual((await watchdog()).code, 0);
    strictEqual(alive(second), false, "the hung tracker is gone");
    await waitForPort(port);
    const third = await pid();
    ok(third !== second);
    strictEqual((await http.announce({ hash: h, port: 1, numwant: 50 })).peers.length, 5);

    const log = await Deno.readTextFile(`${dir}/watchdog.log`);
    match(log, /unhealthy: no HTTP answer .* no UDP answer/);
    match(log, /stopping unresponsive tracker pid/);
    strictEqual(log.match(/restarted the tracker/g)?.length, 3);
  } finally {
    try {
      const p = await pid();
      if (alive(p)) {
        Deno.kill(p, "SIGCONT");
        Deno.kill(p, "SIGTERM");
        while (alive(p)) await new Promise((r) => setTimeout(r, 20));
      }
    } catch { /* never started */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second instance on the same port is refused with exit status 1", async () => {
  const t = await startTrackerProcess(["-i", "127.0.0.1", "-p", "0"], 1);
  try {
    const r = await run(Deno.execPath(), [
      ...startFlags(),
      `${ROOT}main.ts`,
      "-i",
      "127.0.0.1",
      "-p",
      String(t.tcp[0]),
    ]);
    strictEqual(r.code, 1);
    strictEqual(
      r.out,
      `Refusing to start: tcp 127.0.0.1:${t.tcp[0]} is already in use; another tracker instance ` +
        "probably serves it\n",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("an address the machine does not have is named, with opentracker's exit status 111", async () => {
  // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails with EADDRNOTAVAIL.
  for (const workers of ["1", "2"]) {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/c.conf`,
        `tracker.workers ${workers}\nlisten.udp 192.0.2.1:6969\n`,
      );
      const r = await run(Deno.execPath(), [
        ...startFlags(),
        `--allow-read=${dir}`,
        `${ROOT}main.ts`,
        "-f",
        `${dir}/c.conf`,
      ]);
      strictEqual(r.code, 111, r.out);
      match(r.out, /^Cannot bind udp 192\.0\.2\.1:6969: .*(not available|Cannot assign)/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("deno task compile: a wrong option, a missing DENORT_BIN and an offline download say what to do", async () => {
  const compile = (args: string[], env: Record<string, string> = {}) =>
    run(Deno.execPath(), [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      `${ROOT}scripts/compile.ts`,
      ...args,
    ], env);
  const options = "Options: --read DIR,... --write DIR,... --no-ffi --output FILE";
  let r = await compile(["--", "--ffi"]);
  strictEqual(r.code, 2);
  strictEqual(r.out, `deno task compile: Unknown option '--ffi'. ${options}\n`);

  r = await compile([], { DENORT_BIN: "/nonexistent/denort" });
  strictEqual(r.code, 1);
  strictEqual(
    r.out,
    `DENORT_BIN=/nonexistent/denort: no such file (it must be Deno's denort runtime, version ` +
      `${Deno.version.deno}, for ${Deno.build.target}).\n`,
  );

  // Offline: an empty Deno cache and a proxy on a closed loopback port, so the download of the
  // runtime fails here without a packet leaving the machine. `--` before the options is accepted.
  const dir = await Deno.makeTempDir();
  try {
    const zip = `denort-${Deno.build.target}.zip`;
    const proxy = `http://127.0.0.1:${freePort()}`;
    r = await compile(["--", "--read", dir, "--write", dir, "--output", `${dir}/ot`], {
      DENO_DIR: `${dir}/cache`,
      HTTPS_PROXY: proxy,
      https_proxy: proxy,
      NO_PROXY: "",
      no_proxy: "",
    });
    ok(r.code !== 0, r.out);
    const cached = `${dir}/cache/dl/release/v${Deno.version.deno}/${zip}`;
    ok(r.out.startsWith(`deno compile downloads ${zip} once, into ${cached}.\n`), r.out);
    ok(
      r.out.endsWith(
        "\ndeno compile failed, and its runtime is not cached. Without network access, give deno " +
          `compile its runtime: DENORT_BIN=/path/to/denort deno task compile, or place ${zip} ` +
          `(from https://dl.deno.land/release/v${Deno.version.deno}/${zip}) at ${cached}.\n`,
      ),
      r.out,
    );
    match(r.out, new RegExp(`--allow-read=${dir} `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a configuration file the sandbox does not grant: the start says which flag to add", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/opentracker.conf`, "listen.tcp 127.0.0.1:0\n");
    // Whether or not the file exists: the grant is asked first, never prompted for.
    for (const path of [`${dir}/opentracker.conf`, `${dir}/missing.conf`]) {
      const r = await run(Deno.execPath(), [...startFlags(), `${ROOT}main.ts`, "-f", path]);
      strictEqual(r.code, 1);
      const flags = permissionFlags({ read: [".", path], write: ["."] }).join(" ");
      strictEqual(
        r.out,
        `Can't open config file: ${path}: no read permission for it; start with ` +
          `--allow-read=${path} (deno task start grants only the checkout; from it: deno run ` +
          `${flags} main.ts -f ${path})\n`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
