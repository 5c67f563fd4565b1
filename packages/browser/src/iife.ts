/**
 * The `<script>` build (dist/trackmate.min.js, served by the collector at /sdk.js): every auto-capture
 * plugin, and the global `trackmate(method, ...args)` of the script-tag contract (README, DESIGN.md §8).
 *
 * - One tag: `<script async src=".../sdk.js" data-write-key="pk_…">` initialises from the tag's attributes.
 * - Snippet: a stub queued calls in `trackmate.q` before this loaded; they are replayed in order.
 * Without a `host`, events go to the origin that served this script.
 */
import { addToCart, consent, flush, identify, init, orderProduct, page, reset, track } from './api.js';
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
  const methods: Record<string, (...args: never[]) => unknown> = {
    init: (o: SnippetOptions = {}) =>
      init({
        ...(o as TrackerOptions),
        host: o.host || (script?.src ? new URL(script.src).origin : ''),
        plugins: o.autocapture === false ? [] : [activeSite(), pageView(), deepScroll(), buttonClick(), formSubmit()],
      }),
    track,
    page,
    identify,
    addToCart,
    orderProduct,
    consent,
    flush,
    reset,
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
      requireConsent: 'requireConsent' in data,
      cookieless: 'cookieless' in data,
      debug: 'debug' in data,
    } satisfies SnippetOptions);
  }
  for (const call of queued) trackmate(...call);
}
