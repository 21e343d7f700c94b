/**
 * Invariant checks for programmer errors (TigerBeetle style). Untrusted input is validated
 * inline and becomes a client error instead; it never reaches an assert.
 */

/** Thrown when an internal invariant does not hold: a bug in the tracker, never bad input. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Throws {@link AssertionError} with `message` when `condition` is false. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
