// Waiting at shutdown and in other places that must never hang or throw on the way out.

/** Waits for `p` (if any), at most `ms`; never rejects: the caller checks what it needs afterwards. */
export async function within(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([
    (p ?? Promise.resolve()).then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((r) => {
      t = setTimeout(r, Math.max(0, ms));
    }),
  ]);
  clearTimeout(t);
}
