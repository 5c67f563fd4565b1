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
        // `page` is not an allowed query parameter: the URL leaves without it
        { url: 'http://localhost:3000/products', referrer: 'http://localhost:3000/', title: 'Products' },
      ],
      [
        'page_view',
        {
          url: 'http://localhost:3000/cart',
          referrer: 'http://localhost:3000/products',
          title: 'Products',
        },
      ],
    ]);
  });

  it('sends only allowed query parameters, never the fragment: url and referrer cleaned, context.page.url without query', async () => {
    const t = start(pageView());
    // a sign-up form submitted with GET lands on a URL holding what was typed
    history.pushState(
      null,
      '',
      '/thanks?email=ada%40example.com&firstName=Ada&password=hunter2&csrf_token=c5rfT0k&page=2&utm_source=news#done',
    );
    await vi.advanceTimersByTimeAsync(0);
    history.pushState(null, '', '/next');
    await vi.advanceTimersByTimeAsync(0);
    await t.flush();
    const views = net.events().filter((e) => e.name === 'page_view');
    const clean = 'http://localhost:3000/thanks?utm_source=news';
    expect(views[1]?.properties?.url).toBe(clean);
    expect(views[1]?.context?.page?.url).toBe('http://localhost:3000/thanks');
    expect(views[2]?.properties?.referrer).toBe(clean);
    expect(JSON.stringify(net.events())).not.toMatch(/hunter2|ada%40example|Ada|c5rfT0k|page=2|#done/);
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
    history.pushState(null, '', `/search?utm_term=${'x'.repeat(3000)}`);
    const [first, second] = (await sent(t)).map(([, p]) => p as Record<string, string>);
    expect(first!.title).toHaveLength(1024);
    expect(second!.url).toHaveLength(2048);
    expect(second!.url.startsWith('http://localhost:3000/search?utm_term=xxx')).toBe(true);
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

  it('with { replaceState: false }, URL rewrites in place are not page views, navigations still are', async () => {
    const t = start(pageView({ replaceState: false }));
    history.replaceState(null, '', '/search?q=m'); // search as you type
    history.replaceState(null, '', '/search?q=mugs');
    await vi.advanceTimersByTimeAsync(0);
    window.dispatchEvent(new Event('pagehide')); // nor when the tab goes away afterwards
    history.pushState(null, '', '/cart');
    history.replaceState(null, '', '/cart?ref=1'); // part of the navigation just made
    const urls = (await sent(t)).map(([, p]) => (p as { url: string }).url);
    expect(urls).toEqual(['http://localhost:3000/', 'http://localhost:3000/cart?ref=1']);
  });

  it('counts a page restored from the back/forward cache', async () => {
    const t = start(pageView());
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false })); // first load: counted already
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    expect((await sent(t)).map(([n]) => n)).toEqual(['page_view', 'page_view']);
  });

  it('counts a prerendered page once it is shown, not while it is prepared', async () => {
    Object.defineProperty(document, 'prerendering', { configurable: true, value: true });
    try {
      const t = start(pageView());
      expect(await sent(t)).toEqual([]);
      Object.defineProperty(document, 'prerendering', { configurable: true, value: false });
      document.dispatchEvent(new Event('prerenderingchange'));
      document.dispatchEvent(new Event('prerenderingchange'));
      expect((await sent(t)).map(([n]) => n)).toEqual(['page_view']);
    } finally {
      delete (document as { prerendering?: boolean }).prerendering;
    }
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
  let reads = 0;
  /** A scrolling element of 4 screens: `scrollTop` reads are counted (layout reads). */
  const scroller = (el: Element) => {
    let top = 0;
    Object.defineProperty(el, 'clientHeight', { configurable: true, value: 1000 });
    Object.defineProperty(el, 'scrollHeight', { configurable: true, value: 4000 });
    Object.defineProperty(el, 'scrollTop', {
      configurable: true,
      get: () => {
        reads++;
        return top;
      },
      set: (v) => {
        top = v;
      },
    });
    return async (y: number, frame = true) => {
      el.scrollTop = y;
      (el === document.documentElement ? document : el).dispatchEvent(new Event('scroll'));
      if (frame) await vi.advanceTimersByTimeAsync(16);
    };
  };
  const percentages = async (t: Tracker) =>
    (await sent(t)).filter(([n]) => n === 'deep_scroll').map(([, p]) => (p as { percentage: number }).percentage);
  beforeEach(() => {
    reads = 0;
  });

  it('reports 25/50/75/100 % once per page view, and starts over at each page_view', async () => {
    const scrollTo = scroller(document.documentElement);
    const t = start(deepScroll());
    await scrollTo(0); // 25 % visible at the top of a 4-screen page
    await scrollTo(500);
    await scrollTo(1000); // 50 %
    await scrollTo(0);
    await scrollTo(1000);
    await scrollTo(3000); // bottom: 75 and 100
    await scrollTo(2999.6); // fractional scroll positions still count as the bottom
    t.track('page_view', { url: 'http://localhost:3000/next', referrer: '', title: '' });
    await scrollTo(0);
    expect(await percentages(t)).toEqual([25, 50, 75, 100, 25]);
  });

  it('reads layout at most once per animation frame, and not at all once every mark has fired', async () => {
    const scrollTo = scroller(document.documentElement);
    const t = start(deepScroll());
    for (let y = 0; y < 100; y += 10) await scrollTo(y, false); // ten scroll events within one frame
    await vi.advanceTimersByTimeAsync(16);
    expect(reads).toBe(1);
    await scrollTo(3000);
    expect(reads).toBe(2);
    for (let y = 0; y < 3000; y += 100) await scrollTo(y);
    expect(reads).toBe(2);
    expect(await percentages(t)).toEqual([25, 50, 75, 100]);
  });

  it('measures the configured inner container instead of the page', async () => {
    document.body.innerHTML = '<main id="pane"></main><aside id="other"></aside>';
    const pane = scroller(document.getElementById('pane')!);
    const other = scroller(document.getElementById('other')!);
    const t = start(deepScroll({ container: '#pane' }));
    await other(3000); // another scrolling element: ignored
    expect(await percentages(t)).toEqual([]);
    await pane(1000);
    expect(await percentages(t)).toEqual([25, 50]);
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

  it('reads .value only from button-type inputs, and never sends e-mail addresses found in the text', async () => {
    document.body.innerHTML = `
      <input type="text" data-track="search" value="what the visitor typed">
      <input type="reset" data-track="clear" value="Clear">
      <button id="logout">Log out ada@example.com</button>`;
    const t = start(buttonClick());
    for (const sel of ['[data-track=search]', '[data-track=clear]', '#logout']) {
      document.querySelector<HTMLElement>(sel)!.click();
    }
    expect(await sent(t)).toEqual([
      ['button_click', { elementId: 'search', text: '' }],
      ['button_click', { elementId: 'clear', text: 'Clear' }],
      ['button_click', { elementId: 'logout', text: 'Log out' }],
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
      <input type="tel" name="mobile" value="+441234567890">
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
      `<form id="f"><input name="first_name" value="${'a'.repeat(500)}"><input type="tel" name="phone" value="+${'1'.repeat(100)}"></form>`,
    );
    const [[, p]] = (await sent(t)) as [[string, { fields: Record<string, string> }]];
    expect(p.fields.firstName).toHaveLength(200);
    expect(p.fields.phone).toHaveLength(64);
  });

  it('takes a tel input for a phone only when its name or autocomplete says so', async () => {
    const t = start(formSubmit());
    submit(`<form id="verify">
      <input type="tel" name="otp" value="+441234567890">
      <input type="tel" name="x" autocomplete="tel" value="+442222222222"></form>`);
    expect(await sent(t)).toEqual([['form_submit', { formId: 'verify', fields: { phone: '+442222222222' } }]]);
  });

  it('never sends a value that looks like a card number (Luhn, 13-19 digits) or a CVV, from any field', async () => {
    const t = start(formSubmit());
    submit(`<form id="f">
      <input name="first_name" value="4111 1111 1111 1111">
      <input name="last_name" value="123">
      <input type="tel" name="phone" value="4242-4242-4242-4242">
      <input name="user_email" value="5555555555554444"></form>`);
    expect(await sent(t)).toEqual([['form_submit', { formId: 'f', fields: {} }]]);
    // 16 digits that fail the Luhn check, and a name with digits, are ordinary values
    submit(
      `<form id="g"><input type="tel" name="phone" value="1234567890123456"><input name="first_name" value="R2D2"></form>`,
    );
    expect((await sent(t)).at(-1)).toEqual([
      'form_submit',
      { formId: 'g', fields: { phone: '1234567890123456', firstName: 'R2D2' } },
    ]);
  });

  it('skips forms inside [data-track-ignore]', async () => {
    const t = start(formSubmit());
    submit('<div data-track-ignore><form id="f"><input type="email" value="a@b.co"></form></div>');
    expect(await sent(t)).toEqual([]);
  });
});
