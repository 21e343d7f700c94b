/**
 * `deno task ok` runs this: every import in `src/` and `main.ts` must follow the layers of the
 * README's architecture, so that the design cannot erode one convenient import at a time.
 *
 *   deno run --allow-read scripts/check_imports.ts
 *
 * A layer may import itself and the layers listed for it; tests (`*_test.ts`) and benchmarks
 * (`*_bench.ts`) may import anything in `src/`; `npm:` and `node:` imports are not checked here.
 */

const ROOT = new URL("../", import.meta.url);

/** Layer → the other layers it may import. */
const ALLOWED: Record<string, readonly string[]> = {
  types: [],
  util: [],
  protocol: ["types", "util"],
  swarm: ["types", "util"],
  stats: ["types", "util"],
  config: ["types", "util"],
  logic: ["types", "util", "protocol", "swarm", "stats"],
  // The frontends: parse (protocol) → logic → write (protocol). Never the swarm itself.
  server: ["types", "util", "protocol", "logic", "stats", "config/config"],
  // The composition root, the workers' entry and their coordinator, and the entry point wire
  // everything.
  tracker: ["*"],
  worker: ["*"],
  cluster: ["*"],
  main: ["*"],
};

/** The layer of a path relative to the root (`src/swarm/swarm.ts` → `swarm`). */
function layerOf(path: string): string {
  if (path === "main.ts") return "main";
  if (path === "src/tracker.ts") return "tracker";
  if (path === "src/worker.ts") return "worker";
  if (path === "src/cluster.ts") return "cluster";
  if (path === "src/types.ts") return "types";
  const m = path.match(/^src\/([a-z_]+)\//);
  if (m === null) throw new Error(`${path} belongs to no layer`);
  return m[1];
}

function allowed(from: string, to: string): boolean {
  const layer = layerOf(from);
  const target = layerOf(to);
  if (layer === target) return true;
  const rules = ALLOWED[layer];
  if (rules === undefined) return false;
  return rules.some((r) => r === "*" || r === target || (r.includes("/") && to === `src/${r}.ts`));
}

async function* sources(dir: URL, prefix: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    if (e.isDirectory) yield* sources(new URL(`${e.name}/`, dir), `${rel}/`);
    else if (e.name.endsWith(".ts")) yield rel;
  }
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm;
const problems: string[] = [];
const files = ["main.ts"];
for await (const f of sources(new URL("src/", ROOT), "src/")) files.push(f);
for (const file of files) {
  if (/_(test|bench)\.ts$/.test(file)) continue;
  const text = await Deno.readTextFile(new URL(file, ROOT));
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1];
    if (!spec.startsWith(".")) continue;
    const target = new URL(spec, new URL(file, ROOT)).pathname.slice(ROOT.pathname.length);
    if (!allowed(file, target)) {
      const line = text.slice(0, m.index).split("\n").length;
      problems.push(`${file}:${line}: ${layerOf(file)} must not import ${target}`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`${problems.length} imports cross the layers (see README, Architecture)`);
  Deno.exit(1);
}
console.error(`Imports follow the layers (${files.length} files)`);
