import { describe, expect, it } from 'vitest';
import { openUrl, readOpenToken } from '../open-pixel.js';
import {
  type ClickToken,
  clickUrl,
  landingUrl,
  linkTracker,
  readClickToken,
  SCANNER_WINDOW_MS,
  suspectClick,
  suspectHit,
} from '../tracked-links.js';

const config = { publicUrl: 'https://collect.example' };
const SECRET = 'a-signing-secret';
const token: ClickToken = {
  siteId: '0123456789abcdef01234567',
  profileId: '89abcdef0123456789abcdef',
  source: { kind: 'campaign', id: 'abcdefabcdefabcdefabcdef', name: 'Winter sale' },
  url: 'https://shop.test/sale?x=1&y=2',
  sentAt: 1_000_000,
};
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

describe('tracked links', () => {
  it('reads back what it signed, with or without a full stop a mail client took along', () => {
    const link = clickUrl(config, SECRET, token);
    expect(link.startsWith('https://collect.example/r/')).toBe(true);
    const segment = new URL(link).pathname.slice('/r/'.length);
    expect(readClickToken(SECRET, segment)).toEqual(token);
    expect(readClickToken(SECRET, `${segment}.`)).toEqual(token);
    expect(readClickToken('another-secret', segment)).toBeNull();
  });

  it('carries a flow step, and refuses a step on a broadcast or out of range, though signed', () => {
    const flow: ClickToken = { ...token, source: { kind: 'flow', id: token.source.id, name: 'Cart', step: 2 } };
    const segment = (t: ClickToken) => new URL(clickUrl(config, SECRET, t)).pathname.slice('/r/'.length);
    expect(readClickToken(SECRET, segment(flow))).toEqual(flow);
    expect(readClickToken(SECRET, segment({ ...token, source: { ...token.source, step: 1 } }))).toBeNull();
    expect(readClickToken(SECRET, segment({ ...flow, source: { ...flow.source, step: 11 } }))).toBeNull();
    expect(readClickToken(SECRET, segment({ ...flow, source: { ...flow.source, step: 1.5 } }))).toBeNull();
  });

  it('refuses a token whose destination or signature was changed, or that is not a web link', () => {
    const segment = new URL(clickUrl(config, SECRET, token)).pathname.slice('/r/'.length);
    const [payload, sig] = segment.split('.') as [string, string];
    const changed = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), u: 'https://evil.test/' }),
    ).toString('base64url');
    expect(readClickToken(SECRET, `${changed}.${sig}`)).toBeNull();
    expect(readClickToken(SECRET, `${payload}.${sig.slice(0, -1)}A`)).toBeNull();
    expect(readClickToken(SECRET, 'no-dot-at-all')).toBeNull();
    const script = new URL(clickUrl(config, SECRET, { ...token, url: 'javascript:alert(1)' })).pathname.slice(3);
    expect(readClickToken(SECRET, script)).toBeNull();
  });

  it('rewrites every web link of a message but the collector’s own, keeping punctuation and HTML escaping', () => {
    const track = linkTracker(config, SECRET, token, 5);
    const text =
      'See https://shop.test/a?b=1&c=2. Or (https://blog.test/x). Leave: https://collect.example/api/unsubscribe?s=1';
    const out = track(text, 'text');
    const links = [...out.matchAll(/https:\/\/collect\.example\/r\/([\w-]+\.[\w-]+)/g)].map((m) =>
      readClickToken(SECRET, m[1]!),
    );
    expect(links.map((l) => l?.url)).toEqual(['https://shop.test/a?b=1&c=2', 'https://blog.test/x']);
    expect(links.every((l) => l?.sentAt === 5)).toBe(true);
    expect(out).toMatch(/\/r\/[\w-]+\.[\w-]+\. Or \(https:\/\/collect\.example\/r\/[\w-]+\.[\w-]+\)\. Leave: /);
    expect(out.endsWith('Leave: https://collect.example/api/unsubscribe?s=1')).toBe(true);
    const html = track('<a href="https://shop.test/a?b=1&amp;c=2">Shop</a>', 'html');
    const inHtml = /href="https:\/\/collect\.example\/r\/([^"]+)"/.exec(html)?.[1];
    expect(readClickToken(SECRET, inHtml!)?.url).toBe('https://shop.test/a?b=1&c=2');
  });

  it('lands with utm_* and the campaign id, unless the link has utm_* of its own', () => {
    expect(landingUrl(token)).toBe(
      'https://shop.test/sale?x=1&y=2&utm_source=trackmate&utm_medium=email&utm_campaign=Winter+sale&utm_content=abcdefabcdefabcdefabcdef',
    );
    expect(landingUrl({ ...token, url: 'https://shop.test/?UTM_Source=own' })).toBe(
      'https://shop.test/?UTM_Source=own',
    );
  });

  it('flags a click within seconds of sending, without a user agent or by a robot', () => {
    expect(suspectClick(token, BROWSER, token.sentAt + SCANNER_WINDOW_MS - 1)).toBe('scanner-timing');
    expect(suspectClick(token, BROWSER, token.sentAt + SCANNER_WINDOW_MS)).toBeNull();
    expect(suspectClick(token, undefined, token.sentAt + 60_000)).toBe('scanner-agent');
    expect(suspectClick(token, 'Mozilla/5.0 (compatible; bingbot/2.0)', token.sentAt + 60_000)).toBe('scanner-agent');
  });

  it('an open pixel reads back what it signed; a click token is no open token, nor the reverse', () => {
    const { url: _url, ...hit } = token;
    const pixel = openUrl(config, SECRET, hit);
    expect(pixel).toMatch(/^https:\/\/collect\.example\/o\/[\w-]+\.[\w-]+\.gif$/);
    const segment = new URL(pixel).pathname.slice('/o/'.length);
    expect(readOpenToken(SECRET, segment)).toEqual(hit);
    expect(readOpenToken(SECRET, segment.slice(0, -'.gif'.length))).toBeNull();
    expect(readOpenToken('another-secret', segment)).toBeNull();
    const click = new URL(clickUrl(config, SECRET, token)).pathname.slice('/r/'.length);
    expect(readOpenToken(SECRET, `${click}.gif`)).toBeNull();
    expect(readClickToken(SECRET, segment.slice(0, -'.gif'.length))).toBeNull();
  });

  it('flags opens by Apple Mail Privacy Protection (its bare agent or Apple’s network), robots and early loads; webmail image proxies are the reader’s', () => {
    const later = token.sentAt + 60_000;
    const open = (userAgent: string | undefined, ip?: string, now = later) =>
      suspectHit('open', token, { userAgent, ip }, now);
    expect(open(BROWSER, '203.0.113.9', token.sentAt + 1_000)).toBe('scanner-timing');
    expect(open('Mozilla/5.0', '203.0.113.9')).toBe('privacy-proxy');
    expect(open(BROWSER, '17.58.101.4')).toBe('privacy-proxy');
    expect(open(BROWSER, '::ffff:17.58.101.4')).toBe('privacy-proxy');
    expect(open(BROWSER, '2620:149:a:1::5')).toBe('privacy-proxy');
    expect(open(BROWSER, '170.1.2.3')).toBeNull();
    expect(
      open('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'),
    ).toBeNull();
    expect(open('Barracuda Sentinel (EE)')).toBe('scanner-agent');
    expect(open(undefined)).toBe('scanner-agent');
    // a click keeps its own rules: an Apple address clicking is a person
    expect(suspectHit('click', token, { userAgent: BROWSER, ip: '17.58.101.4' }, later)).toBeNull();
  });
});
