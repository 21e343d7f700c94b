/**
 * Reads the files the tracker restores at start: its own state file (`tracker.statefile`) and an
 * opentracker statedump (`-l`). Reading only: the logic restores what they hold.
 */

/** What reading a file gave. */
export type FileRead<T> =
  | { readonly kind: "read"; readonly data: T }
  | { readonly kind: "missing" }
  | { readonly kind: "error"; readonly message: string };

function read<T>(path: string, readFn: (path: string) => T): FileRead<T> {
  try {
    return { kind: "read", data: readFn(path) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "missing" };
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
}

/** The state file's bytes. */
export function readStateFileBytes(path: string): FileRead<Uint8Array> {
  return read(path, Deno.readFileSync);
}

/** The statedump's text. */
export function readStatedumpText(path: string): FileRead<string> {
  return read(path, Deno.readTextFileSync);
}
