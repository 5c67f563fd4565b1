import type { Plugin } from '../types.js';
import { urlOf } from '../util/url.js';

/**
 * active_site once per session, carrying its sessionId: at the first event of a visit, and again when the
 * visitor comes back after the session expired (30 idle minutes by default). Sessions are shared by the
 * site's tabs, so opening a second tab is not a second visit.
 */
export const activeSite = (): Plugin => ({
  // Touching the session starts one when none is running, which calls `session` below.
  setup: (t) => void t.sessionId(),
  session: (sessionId, t) => void t.track('active_site', { url: urlOf(t, location.href), sessionId }),
});
