/**
 * The `<script>` build (dist/trackmate.min.js, served by the collector at /sdk.js): every auto-capture
 * plugin, and the global `trackmate(method, ...args)` of the script-tag contract (the package README).
 *
 * - One tag: `<script async src=".../sdk.js" data-write-key="pk_…">` initialises from the tag's attributes.
 * - Snippet: a stub queued calls in `trackmate.q` before this loaded; they are replayed in order.
 * Without a `host`, events go to the origin that served this script when it is the collector's `/sdk.js`;
 * loaded from anywhere else (a CDN), the SDK refuses to start rather than post events to that origin.
 */
import * as api from './api.js';
import { cookieStore } from './cookie-store.js';
import { activeSite } from './plugins/active-site.js';
import { buttonClick } from './plugins/button-click.js';
import { deepScroll } from './plugins/deep-scroll.js';
import { formSubmit } from './plugins/form-submit.js';
import { pageView } from './plugins/page-view.js';
import type { TrackerOptions } from './types.js';

type Call = [method: string, ...args: unknown[]];
type Global = ((...call: Call) => unknown) & { q?: ArrayLike<unknown>[]; l?: 1 };
type SnippetOptions = Partial<TrackerOptions> & { autocapture?: boolean };

const w = window as unknown as { trackmate?: Global };
const stub = w.trackmate;

if (!stub?.l) {
  const script = document.currentScript as HTMLScriptElement | null;
  const data = script?.dataset || {};
  const src = script?.src ? new URL(script.src) : undefined;
  /** A flag attribute: present and not "false". */
  const flag = (v: string | undefined) => v !== undefined && v !== 'false';
  // every manual method of the package, by name (api.ts is the one list); init reads the tag's options first
  const methods: Record<string, (...args: never[]) => unknown> = {
    ...api,
    init(o: SnippetOptions = {}) {
      // Served by the collector at /sdk.js, the script's origin is the collector's; anywhere else (a CDN) it is
      // not, and events posted there would go to a stranger.
      if (!o.host && src && !src.pathname.endsWith('/sdk.js')) {
        return void (o.debug && console.warn('[trackmate] no host given: not sending events to', src.origin));
      }
      api.init({
        ...(o as TrackerOptions),
        host: o.host || src?.origin,
        storage: o.storage || cookieStore(),
        plugins: o.autocapture === false ? [] : [activeSite(), pageView(), deepScroll(), buttonClick(), formSubmit()],
      });
    },
  };
  const trackmate: Global = (method, ...args) => {
    const fn = methods[method];
    return fn ? fn(...(args as never[])) : console.warn('[trackmate] unknown method', method);
  };
  trackmate.l = 1;
  w.trackmate = trackmate;
  const queued = Array.from(stub?.q || [], (a) => Array.from(a) as Call);
  if (data.writeKey && !queued.some((c) => c[0] === 'init')) {
    trackmate('init', {
      writeKey: data.writeKey,
      host: data.host,
      requireConsent: flag(data.requireConsent),
      cookieless: flag(data.cookieless),
      debug: flag(data.debug),
      // the site's own additions to the allowed query parameters: data-url-params="promo,variant"
      urlParams: { allow: (data.urlParams || '').toLowerCase().split(',') },
    } satisfies SnippetOptions);
  }
  for (const call of queued) trackmate(...call);
}
