// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { activeSite } from '../src/plugins/active-site.js';
import { buttonClick } from '../src/plugins/button-click.js';
import { deepScroll } from '../src/plugins/deep-scroll.js';
import { formSubmit } from '../src/plugins/form-submit.js';
import { pageView } from '../src/plugins/page-view.js';
import { createTracker } from '../src/tracker.js';
import type { Plugin, Tracker } from '../src/types.js';
import { fakeNetwork, showTab } from './helpers.js';

const trackers: Tracker[] = [];
let net: ReturnType<typeof fakeNetwork>;
const start = (...plugins: Plugin[]) => {
  const t = createTracker({ writeKey: 'pk_test', host: 'https://c.example', plugins });
  trackers.push(t);
  return t;
};
const sent = async (t: Tracker) => {
  await vi.advanceTimersByTimeAsync(0);
  await t.flush();
  return net.events().map((e) => [e.name, e.properties]);
};

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  showTab();
  document.body.innerHTML = '';
  history.replaceState(null, '', '/');
  net = fakeNetwork();
});
afterEach(() => {
  for (const t of trackers.splice(0)) t.teardown();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('page-view', () => {
  it('tracks the landing page, then each pushState/replaceState URL change and back/forward', async () => {
    document.title = 'Home';
    const t = start(pageView());
    history.pushState(null, '', '/products?page=2');
    document.title = 'Products'; // set by the app right after navigating: the event waits a tick for it
    history.replaceState({ scroll: 1 }, ''); // same URL: not a page view
    await vi.advanceTimersByTimeAsync(0);
    history.pushState(null, '', '/products?page=2#reviews'); // fragment only: not a page view
    await vi.advanceTimersByTimeAsync(0);
    history.back();
    await vi.waitFor(() => expect(location.pathname).toBe('/products')); // jsdom's history is async
    window.dispatchEvent(new PopStateEvent('popstate'));
    history.pushState(null, '', '/cart');
    expect(await sent(t)).toEqual([
      ['page_view', { url: 'http://localhost:3000/', referrer: '', title: 'Home' }],
      [
        'page_view',
        { url: 'http://localhost:3000/products?page=2', referrer: 'http://localhost:3000/', title: 'Products' },
      ],
      [
        'page_view',
        {
          url: 'http://localhost:3000/cart',
          referrer: 'http://localhost:3000/products?page=2',
          title: 'Products',
        },
      ],
    ]);
  });

  it('never sends secret or personal query values, nor the fragment: url and referrer cleaned, context.page.url without query', async () => {
    const t = start(pageView());
    // a sign-up form submitted with GET lands on a URL holding what was typed
    history.pushState(
      null,
      '',
      '/thanks?email=ada%40example.com&password=hunter2&csrf_token=abc&page=2&utm_source=news#done',
    );
    await vi.advanceTimersByTimeAsync(0);
    history.pushState(null, '', '/next');
    await vi.advanceTimersByTimeAsync(0);
    await t.flush();
    const views = net.events().filter((e) => e.name === 'page_view');
    const clean = 'http://localhost:3000/thanks?email=_&password=_&csrf_token=_&page=2&utm_source=news';
    expect(views[1]?.properties?.url).toBe(clean);
    expect(views[1]?.context?.page?.url).toBe('http://localhost:3000/thanks');
    expect(views[2]?.properties?.referrer).toBe(clean);
    expect(JSON.stringify(net.events())).not.toMatch(/hunter2|ada%40example|abc|#done/);
  });

  it('queues the page_view of a navigation when the tab closes within the same tick', async () => {
    start(pageView());
    history.pushState(null, '', '/products'); // then the tab goes away before the tick that reads the title
    window.dispatchEvent(new Event('pagehide'));
    expect(net.events().map((e) => [e.name, e.properties?.url])).toEqual([
      ['page_view', 'http://localhost:3000/'],
      ['page_view', 'http://localhost:3000/products'],
    ]);
  });

  it('cuts url, referrer and title to the collector limits instead of losing the page view', async () => {
    document.title = 'T'.repeat(3000);
    const t = start(pageView());
    history.pushState(null, '', `/search?q=${'x'.repeat(3000)}`);
    const [first, second] = (await sent(t)).map(([, p]) => p as Record<string, string>);
    expect(first!.title).toHaveLength(1024);
    expect(second!.url).toHaveLength(2048);
    expect(second!.url.startsWith('http://localhost:3000/search?q=xxx')).toBe(true);
    expect(second!.referrer).toBe('http://localhost:3000/');
  });

  it('counts fragment changes with { hash: true }, and restores history on teardown', async () => {
    const push = history.pushState;
    const t = start(pageView({ hash: true }));
    expect(history.pushState).not.toBe(push);
    history.pushState(null, '', '#/settings');
    const urls = (await sent(t)).map(([, p]) => (p as { url: string }).url);
    expect(urls).toEqual(['http://localhost:3000/', 'http://localhost:3000/#/settings']);
    t.teardown();
    expect(history.pushState).toBe(push);
  });
});

describe('active-site', () => {
  it('tracks active_site with url and sessionId once per session, first', async () => {
    const t = start(pageView(), activeSite());
    t.track('later');
    const events = net.events;
    await sent(t);
    const [first, second, third] = events();
    expect([first!.name, second!.name, third!.name]).toEqual(['active_site', 'page_view', 'later']);
    expect(first!.properties).toEqual({ url: location.href, sessionId: first!.sessionId });
    // The next page load in the same session is not a new visit.
    for (const x of trackers.splice(0)) x.teardown();
    const again = start(pageView(), activeSite());
    await sent(again);
    expect(events().filter((e) => e.name === 'active_site')).toHaveLength(1);
    // 30 idle minutes later it is.
    vi.advanceTimersByTime(31 * 60_000);
    again.track('back');
    await sent(again);
    const visits = events().filter((e) => e.name === 'active_site');
    expect(visits).toHaveLength(2);
    expect(visits[1]!.sessionId).not.toBe(visits[0]!.sessionId);
  });
});

describe('deep-scroll', () => {
  const scrollTo = (y: number) => {
    Object.defineProperty(window, 'scrollY', { configurable: true, value: y });
    window.dispatchEvent(new Event('scroll'));
  };
  beforeEach(() => {
    Object.defineProperty(window, 'innerHeight', { configurable: true, value: 1000 });
    Object.defineProperty(document.documentElement, 'scrollHeight', { configurable: true, value: 4000 });
  });

  it('reports 25/50/75/100 % once per page, and again after a navigation', async () => {
    const t = start(deepScroll());
    scrollTo(0); // 25 % visible at the top of a 4-screen page
    scrollTo(500);
    scrollTo(1000); // 50 %
    scrollTo(0);
    scrollTo(1000);
    scrollTo(3000); // bottom: 75 and 100
    scrollTo(2999.6); // fractional scroll positions still count as the bottom
    history.pushState(null, '', '/next');
    scrollTo(0);
    const marks = (await sent(t)).map(([, p]) => (p as { percentage: number }).percentage);
    expect(marks).toEqual([25, 50, 75, 100, 25]);
  });

  it('reports nothing before the visitor scrolls', async () => {
    const t = start(deepScroll());
    expect(await sent(t)).toEqual([]);
  });
});

describe('button-click', () => {
  it('tracks buttons, [role=button] and [data-track] with elementId and trimmed text', async () => {
    document.body.innerHTML = `
      <button id="buy">  Buy <b>now</b>
      </button>
      <div role="button" data-track="hero-cta"><span>Start free</span></div>
      <a href="#" data-track>Docs</a>
      <input type="submit" id="send" value="Send">
      <button aria-label="Close"><svg></svg></button>
      <a href="#" id="plain">not tracked</a>
      <div data-track-ignore><button id="secret">Hidden</button></div>`;
    const t = start(buttonClick());
    for (const sel of ['b', 'span', 'a[data-track]', '#send', '[aria-label]', '#plain', '#secret']) {
      document.querySelector<HTMLElement>(sel)!.click();
    }
    expect(await sent(t)).toEqual([
      ['button_click', { elementId: 'buy', text: 'Buy now' }],
      ['button_click', { elementId: 'hero-cta', text: 'Start free' }],
      ['button_click', { elementId: '', text: 'Docs' }],
      ['button_click', { elementId: 'send', text: 'Send' }],
      ['button_click', { elementId: '', text: 'Close' }],
    ]);
  });

  it('sees clicks whose propagation the app stops', async () => {
    document.body.innerHTML = '<button id="x">X</button>';
    document.querySelector('#x')!.addEventListener('click', (e) => e.stopPropagation());
    const t = start(buttonClick());
    document.querySelector<HTMLElement>('#x')!.click();
    expect(await sent(t)).toHaveLength(1);
  });
});

describe('form-submit', () => {
  const submit = (html: string) => {
    document.body.innerHTML = html;
    const form = document.querySelector('form')!;
    form.addEventListener('submit', (e) => e.preventDefault());
    form.requestSubmit();
  };

  it('maps inputs to email, firstName, lastName, phone and accept_terms', async () => {
    const t = start(formSubmit());
    submit(`<form id="signup">
      <input name="user_email" value=" Ada@Example.com ">
      <input autocomplete="given-name" name="a" value="Ada">
      <input name="last_name" value="Lovelace">
      <input type="tel" name="contact" value="+441234567890">
      <input type="checkbox" name="accept_terms" checked>
      <input name="company" value="Analytical Engines">
      <button>Join</button></form>`);
    expect(await sent(t)).toEqual([
      [
        'form_submit',
        {
          formId: 'signup',
          fields: {
            email: 'Ada@Example.com',
            firstName: 'Ada',
            lastName: 'Lovelace',
            phone: '+441234567890',
            accept_terms: true,
          },
        },
      ],
    ]);
  });

  it('never reads password, card, hidden, file or [data-track-ignore] fields', async () => {
    const t = start(formSubmit());
    // Each of these is named or typed so that it would map to a field, were it read.
    const read = vi.fn();
    submit(`<form name="checkout">
      <input type="password" name="email_password" value="hunter2">
      <input type="hidden" name="email" value="hidden@example.com">
      <input name="cc-number" autocomplete="cc-number" value="4111111111111111">
      <input name="card_holder_first_name" value="Ada">
      <div data-track-ignore><input type="email" name="email2" value="ignored@example.com"></div>
      <input type="email" name="email" value="ada@example.com"></form>`);
    for (const el of document.querySelectorAll('input')) {
      if (el.name !== 'email' || el.type !== 'email') {
        Object.defineProperty(el, 'value', { get: read });
      }
    }
    expect(await sent(t)).toEqual([['form_submit', { formId: 'checkout', fields: { email: 'ada@example.com' } }]]);
    // The submit above already ran; run it again now that reads of the other inputs are observed.
    document.querySelector('form')!.requestSubmit();
    await sent(t);
    expect(read).not.toHaveBeenCalled();
  });

  it('cuts over-long entries to the collector limits', async () => {
    const t = start(formSubmit());
    submit(
      `<form id="f"><input name="first_name" value="${'a'.repeat(500)}"><input type="tel" value="${'1'.repeat(100)}"></form>`,
    );
    const [[, p]] = (await sent(t)) as [[string, { fields: Record<string, string> }]];
    expect(p.fields.firstName).toHaveLength(200);
    expect(p.fields.phone).toHaveLength(64);
  });

  it('skips forms inside [data-track-ignore]', async () => {
    const t = start(formSubmit());
    submit('<div data-track-ignore><form id="f"><input type="email" value="a@b.co"></form></div>');
    expect(await sent(t)).toEqual([]);
  });
});
