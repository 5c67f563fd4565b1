import { page } from '../api.js';
import type { Plugin } from '../types.js';

export interface PageViewOptions {
  /** Count a change of the URL's #fragment as a new page (hash-routed apps). Default false. */
  hash?: boolean;
  /**
   * Count `history.replaceState` URL changes as page views. Default true; set false for apps that rewrite
   * the URL in place (filters, search as you type) without going to another page.
   */
  replaceState?: boolean;
}

/**
 * page_view on load and on every single-page-app navigation (history.pushState / replaceState that changes
 * the URL, back and forward), and again when the page is restored from the back/forward cache. A prerendered
 * page counts once the visitor is shown it, not when the browser prepares it. The event waits a tick after
 * pushState so the app can set the new title.
 */
export const pageView = ({ hash, replaceState: replace = true }: PageViewOptions = {}): Plugin => {
  let restore: () => void;
  return {
    setup(t) {
      if (hash) t.keepHash = true; // hash-routed: the fragment is the page
      const where = () => (hash ? location.href : location.href.split('#')[0]);
      let last = where();
      const view = () => page(undefined, t);
      const check = () => {
        if (where() !== last) {
          last = where();
          view();
        }
      };
      const shown = (e: PageTransitionEvent) => e.persisted && view();
      const d = document as Document & { prerendering?: boolean };
      const h = history;
      const { pushState, replaceState } = h;
      /** A navigation's check waits a tick; meanwhile an ignored replaceState is part of that navigation. */
      let pending: unknown;
      const wrap =
        (f: History['pushState'], counts: boolean): History['pushState'] =>
        (...args) => {
          f.apply(h, args);
          if (counts) {
            pending = setTimeout(() => {
              pending = 0;
              check();
            });
          } else if (!pending) last = where();
        };
      h.pushState = wrap(pushState, true);
      h.replaceState = wrap(replaceState, replace);
      addEventListener('popstate', check);
      addEventListener('pageshow', shown);
      if (hash) addEventListener('hashchange', check);
      // A tab hidden or closed within that tick: the page_view is queued before the tracker's own (later
      // registered, non-capturing) listeners send what is queued.
      addEventListener('pagehide', check, true);
      d.addEventListener('visibilitychange', check, true);
      restore = () => {
        h.pushState = pushState;
        h.replaceState = replaceState;
        removeEventListener('popstate', check);
        removeEventListener('pageshow', shown);
        removeEventListener('hashchange', check);
        removeEventListener('pagehide', check, true);
        d.removeEventListener('visibilitychange', check, true);
        d.removeEventListener('prerenderingchange', view);
      };
      if (d.prerendering) d.addEventListener('prerenderingchange', view, { once: true });
      else view();
    },
    teardown: () => restore(),
  };
};
