/**
 * Runs `pass` `firstMs` after start and then every `everyMs` (an hour), never two passes at once; `stop` clears the
 * timers and waits for a pass under way. The timers do not keep the process alive. A pass handles its own errors.
 */
export function startHourly(
  pass: () => Promise<void>,
  { firstMs, everyMs = 3_600_000 }: { firstMs: number; everyMs?: number },
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= pass().finally(() => {
      running = null;
    });
  };
  const first = setTimeout(run, firstMs);
  const timer = setInterval(run, everyMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
