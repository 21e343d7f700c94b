/**
 * Starts `count` things (the workers) in order, at most `atOnce` of them begun and not yet done:
 * `begin(i)` begins the i-th, `done(i)` settles when it is done, and the one `atOnce` places
 * further begins only then. `beforeLast` runs before the last one begins. Resolves with the
 * results in order; rejects with the first failure in order (what has begun is the caller's to
 * end).
 */
export async function startInOrder<T>(
  count: number,
  atOnce: number,
  begin: (i: number) => void,
  done: (i: number) => Promise<T>,
  beforeLast: (() => Promise<void>) | null = null,
): Promise<T[]> {
  let begun = 0;
  const next = async () => {
    if (begun === count - 1) await beforeLast?.();
    begin(begun++);
  };
  while (begun < Math.min(Math.max(1, atOnce), count)) await next();
  const results: T[] = [];
  for (let i = 0; i < count; i++) {
    results.push(await done(i));
    if (begun < count) await next();
  }
  return results;
}
