import type { Plugin } from '../types.js';

export interface DeepScrollOptions {
  /** Percentages to report. Default 25, 50, 75 and 100. */
  marks?: number[];
  /** CSS selector of the element that scrolls, when the page itself does not (an app shell's main pane). */
  container?: string;
}

/**
 * deep_scroll when the visitor has seen 25, 50, 75 and 100 % of the page (or of `container`), each mark once
 * per page view: every page_view starts over. A jump to the bottom reports every mark it passed.
 *
 * Cheap on the main thread: layout is read at most once per animation frame, and not at all once every mark
 * of the page has fired. Listens in the capture phase on the document, so a container that appears later
 * (a single-page app's view) is seen too.
 */
export const deepScroll = (options: number[] | DeepScrollOptions = {}): Plugin => {
  const { marks = [25, 50, 75, 100], container } = Array.isArray(options) ? { marks: options } : options;
  let seen: number[] = [];
  let frame = 0;
  let onScroll: (e: Event) => void;
  return {
    setup(t) {
      onScroll = (e) => {
        const target = e.target as Element;
        if (frame || seen.length >= marks.length) return;
        if (container ? !target.matches?.(container) : target !== (document as unknown)) return;
        const el = container ? target : document.documentElement;
        frame = requestAnimationFrame(() => {
          frame = 0;
          const percentage = Math.ceil(((el.scrollTop + el.clientHeight) / el.scrollHeight) * 100);
          for (const m of marks) {
            if (percentage >= m && !seen.includes(m)) {
              seen.push(m);
              t.track('deep_scroll', { percentage: m });
            }
          }
        });
      };
      document.addEventListener('scroll', onScroll, { capture: true, passive: true });
    },
    beforeSend(e) {
      if (e.name === 'page_view') seen = [];
      return e;
    },
    teardown() {
      cancelAnimationFrame(frame);
      document.removeEventListener('scroll', onScroll, true);
    },
  };
};
