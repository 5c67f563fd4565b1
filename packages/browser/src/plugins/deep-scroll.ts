import type { Plugin } from '../types.js';

/**
 * deep_scroll when the visitor has seen 25, 50, 75 and 100 % of the page, each mark once per page view
 * (a single-page-app navigation starts over). A jump to the bottom reports every mark it passed.
 */
export const deepScroll = (marks: number[] = [25, 50, 75, 100]): Plugin => {
  let onScroll: () => void;
  return {
    setup(t) {
      let seen: number[] = [];
      let url = location.pathname;
      onScroll = () => {
        if (url !== location.pathname) {
          url = location.pathname;
          seen = [];
        }
        const d = document.documentElement;
        const percentage = Math.ceil(((scrollY + innerHeight) / d.scrollHeight) * 100);
        for (const m of marks) {
          if (percentage >= m && !seen.includes(m)) {
            seen.push(m);
            t.track('deep_scroll', { percentage: m });
          }
        }
      };
      addEventListener('scroll', onScroll, { passive: true });
    },
    teardown: () => removeEventListener('scroll', onScroll),
  };
};
