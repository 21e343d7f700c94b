/**
 * opentracker.conf text → ordered directives, as opentracker reads them: one `key value` per
 * line, `#` comment lines and blank lines ignored, trailing blanks and CR stripped. Unlike
 * opentracker, a `#` after a blank ends the value (a comment after a value): opentracker takes it
 * into the value, where some keys' parsers ignore it (an address) and others keep it (a user, a
 * path), so one line behaved two ways. A `#` inside a word (`/srv/list#2`) stays part of it.
 * Unlike opentracker's 512-byte line buffer, long lines stay whole.
 *
 * Pure: no Deno APIs.
 */

/** One `key value` line. */
export interface Directive {
  readonly key: string;
  /** The value; empty when the line held only a key. */
  readonly value: string;
  /** 1-based line number. */
  readonly line: number;
}

/** Splits configuration text into directives, in order. */
export function parseConfigText(text: string): Directive[] {
  const out: Directive[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/[ \t]#.*$/, "").replace(/[ \t\r]+$/, "").replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const gap = line.search(/[ \t]/);
    if (gap < 0) {
      out.push({ key: line, value: "", line: i + 1 });
      continue;
    }
    out.push({ key: line.slice(0, gap), value: line.slice(gap).trimStart(), line: i + 1 });
  }
  return out;
}
