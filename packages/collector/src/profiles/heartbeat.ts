/**
 * Passes `chunks` through and, whenever the next one takes longer than `everyMs`, sends `beat` meanwhile (for a
 * streamed JSON document, a space), so a long silence does not look like a dead connection.
 */
export async function* withHeartbeat(
  chunks: AsyncGenerator<string>,
  everyMs: number,
  beat = ' ',
): AsyncGenerator<string> {
  let pending = chunks.next();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<'tick'>((resolve) => {
      timer = setTimeout(() => resolve('tick'), everyMs);
    });
    const next = await Promise.race([pending, tick]);
    clearTimeout(timer);
    if (next === 'tick') {
      yield beat;
      continue;
    }
    if (next.done) return;
    yield next.value;
    pending = chunks.next();
  }
}
