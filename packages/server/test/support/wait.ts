/** Test helpers for waiting on something asynchronous. */

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `check` holds (it may be async); rejects after `timeoutMs`, naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition', everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
