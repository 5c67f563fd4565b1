import { page } from '../api.js';
import type { Plugin } from '../types.js';

export interface PageViewOptions {
  /** Count a change of the URL's #fragment as a new page (hash-routed apps). Default false. */
  hash?: boolean;
}

/**
 * page_view on load and on every single-page-app navigation (history.pushState / replaceState that changes
 * the URL, back and forward). The event waits a tick after pushState so the app can set the new title.
 */
export const pageView = ({ hash }: PageViewOptions = {}): Plugin => {
  let restore: () => void;
  return {
    setup(t) {
      if (hash) t.keepHash = true; // hash-routed: the fragment is the page
      const where = () => (hash ? location.href : location.href.split('#')[0]);
      let last = where();
      const check = () => {
        if (where() !== last) {
          last = where();
          page(undefined, t);
        }
      };
      const h = history;
      const { pushState, replaceState } = h;
      const wrap =
        (f: History['pushState']): History['pushState'] =>
        (...args) => {
          f.apply(h, args);
          setTimeout(check);
        };
      h.pushState = wrap(pushState);
      h.replaceState = wrap(replaceState);
      addEventListener('popstate', check);
      if (hash) addEventListener('hashchange', check);
      // A tab hidden or closed within that tick: the page_view is queued before the tracker's own (later
      // registered, non-capturing) listeners send what is queued.
      addEventListener('pagehide', check, true);
      document.addEventListener('visibilitychange', check, true);
      restore = () => {
        h.pushState = pushState;
        h.replaceState = replaceState;
        removeEventListener('popstate', check);
        removeEventListener('hashchange', check);
        removeEventListener('pagehide', check, true);
        document.removeEventListener('visibilitychange', check, true);
      };
      page(undefined, t);
    },
    teardown: () => restore(),
  };
};
