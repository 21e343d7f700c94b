import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { setAside, StateSaver, writeFileAtomically } from "./state_saver.ts";

async function* chunksOf(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function* failingAfter(part: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(part);
  throw new Error("disk on fire");
}

Deno.test("writeFileAtomically() replaces the file only when the whole write succeeded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state`;
    strictEqual(await writeFileAtomically(path, chunksOf("ab", "cd")), 4);
    strictEqual(await Deno.readTextFile(path), "abcd");
    let failed = false;
    try {
      await writeFileAtomically(path, failingAfter("xy"));
    } catch {
      failed = true;
    }
    strictEqual(failed, true);
    strictEqual(await Deno.readTextFile(path), "abcd", "the previous file is intact");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateSaver writes one at a time and once more for a save asked during a write", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  let writes = 0;
  const saver = new StateSaver({
    path: `${dir}/state`,
    chunks: () => {
      writes++;
      return chunksOf(`write ${writes}`);
    },
    describe: () => "the test state",
    intervalMinutes: 60,
    log: (l) => lines.push(l),
  });
  try {
    const a = saver.save();
    const b = saver.save();
    const c = saver.save();
    await Promise.all([a, b, c]);
    strictEqual(writes, 2, "the first write and one after it");
    strictEqual(await Deno.readTextFile(`${dir}/state`), "write 2");
    await saver.close();
    strictEqual(writes, 3, "close writes the final state");
    match(lines[0], /^Saved the test state to .*state \(7 bytes\) in \d+ ms$/);
  } finally {
    await saver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setAside() moves a damaged file out of the way and says where", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/state`, "junk");
    strictEqual(
      setAside(`${dir}/state`, "bad magic", 1700000000),
      `State file ${dir}/state is damaged: bad magic; kept what was read before it, moved the ` +
        `file to ${dir}/state.damaged-1700000000`,
    );
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.damaged-1700000000"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
