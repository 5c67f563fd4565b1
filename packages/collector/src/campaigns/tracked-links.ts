import { createHmac, timingSafeEqual } from 'node:crypto';
import { isbot } from 'isbot';
import type { Config } from '../config.js';
import { escapeHtml } from './templates.js';

/** What sent an e-mail: a broadcast (`campaign`) or a flow's (trigger's) e-mail step (`flow`). */
export interface MailSource {
  kind: 'campaign' | 'flow';
  id: string;
  /** Its name, for `utm_campaign` on the landing page. */
  name: string;
  /** A flow's step that sent the e-mail, from 1 (absent: a broadcast, or a link sent before steps were counted). */
  step?: number;
}

/** What a tracked hit (a link's click, the open pixel's load) carries, signed: who was sent it, by what, when. */
export interface MailToken {
  siteId: string;
  profileId: string;
  source: MailSource;
  /** When the message was handed to SMTP (ms): a hit seconds later is a scanner's. */
  sentAt: number;
}

/** A tracked link's token: the hit's, and where the link leads. */
export interface ClickToken extends MailToken {
  url: string;
}

/** A hit this soon after sending is a scanner's (security gateways follow every link on delivery). */
export const SCANNER_WINDOW_MS = 10_000;
const MAX_URL = 2_048;
const MAX_NAME = 100;
const URL_IN_TEXT = /https?:\/\/[^\s"'<>]+/g;
/** Kept out of a link: the punctuation a sentence puts after it. */
const TRAILING = /[.,;:!?)\]]+$/;

/** What a token is for, signed with it: a click token cannot be passed off as an open's, nor the reverse. */
type TokenUse = 'click' | 'open';
const mac = (secret: string, use: TokenUse, payload: string) =>
  createHmac('sha256', secret).update(`${use}:${payload}`).digest().subarray(0, 16).toString('base64url');

/** `<payload>.<signature>`: the token's fields (and `extra`) as base64url JSON, signed with the key for `use`. */
export function sealToken(secret: string, use: TokenUse, token: MailToken, extra: Record<string, unknown> = {}) {
  const payload = Buffer.from(
    JSON.stringify({
      s: token.siteId,
      p: token.profileId,
      k: token.source.kind === 'campaign' ? 'c' : 'f',
      i: token.source.id,
      n: token.source.name.slice(0, MAX_NAME),
      ...(token.source.step ? { st: token.source.step } : {}),
      ...extra,
      t: token.sentAt,
    }),
  ).toString('base64url');
  return `${payload}.${mac(secret, use, payload)}`;
}

/** `<publicUrl>/r/<payload>.<signature>`: a tracked link. */
export function clickUrl(config: Pick<Config, 'publicUrl'>, secret: string, token: ClickToken): string {
  return new URL(`/r/${sealToken(secret, 'click', token, { u: token.url })}`, config.publicUrl).toString();
}

const HEX24 = /^[0-9a-f]{24}$/;
/** A flow's steps: the first and at most nine more. */
export const MAX_STEP = 10;

/**
 * The token of a sealed `<payload>.<signature>` for `use` with its raw fields, or null when it was not made by
 * this installation for that use (or was altered).
 */
export function unsealToken(
  secret: string,
  use: TokenUse,
  segment: string,
): { token: MailToken; fields: Record<string, unknown> } | null {
  const dot = segment.lastIndexOf('.');
  if (dot < 1) return null;
  const payload = segment.slice(0, dot);
  const expected = Buffer.from(mac(secret, use, payload));
  const given = Buffer.from(segment.slice(dot + 1));
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let t: Record<string, unknown>;
  try {
    t = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const { s, p, k, i, n, st } = t;
  if (typeof s !== 'string' || !HEX24.test(s) || typeof p !== 'string' || !HEX24.test(p)) return null;
  if ((k !== 'c' && k !== 'f') || typeof i !== 'string' || !HEX24.test(i) || typeof n !== 'string') return null;
  if (typeof t.t !== 'number') return null;
  if (st !== undefined && (k !== 'f' || !Number.isInteger(st) || (st as number) < 1 || (st as number) > MAX_STEP)) {
    return null;
  }
  const source: MailSource = {
    kind: k === 'c' ? 'campaign' : 'flow',
    id: i,
    name: n,
    ...(st ? { step: st as number } : {}),
  };
  return { token: { siteId: s, profileId: p, source, sentAt: t.t }, fields: t };
}

/** The token of a `/r/…` path segment, or null when it was not made by this installation (or was altered). */
export function readClickToken(secret: string, raw: string): ClickToken | null {
  // a mail client that links a bare address may take the sentence's full stop with it
  const sealed = unsealToken(secret, 'click', raw.replace(TRAILING, ''));
  const u = sealed?.fields.u;
  if (!sealed || typeof u !== 'string' || !isWebUrl(u)) return null;
  return { ...sealed.token, url: u };
}

function isWebUrl(u: string): boolean {
  if (u.length > MAX_URL) return false;
  try {
    const { protocol } = new URL(u);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Every http(s) link of a rendered message replaced by its tracked link (`track`), except the collector's own
 * (the unsubscribe and consent links, which must work as sent). `html`: links are read with their entities
 * decoded and written back escaped.
 */
export function trackLinks(
  rendered: string,
  mode: 'text' | 'html',
  own: string,
  track: (url: string) => string,
): string {
  return rendered.replace(URL_IN_TEXT, (match) => {
    const tail = TRAILING.exec(match)?.[0] ?? '';
    const found = match.slice(0, match.length - tail.length);
    const url = mode === 'html' ? unescapeHtml(found) : found;
    if (!isWebUrl(url) || (own && url.startsWith(own))) return match;
    const tracked = track(url);
    return (mode === 'html' ? escapeHtml(tracked) : tracked) + tail;
  });
}

const unescapeHtml = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : "'",
  );

/**
 * The landing page's address: `utm_source=trackmate`, `utm_medium=email`, `utm_campaign=<name>` and
 * `utm_content=<campaign or flow id>` added, unless the link has any `utm_*` of its own (then it is left as
 * written: the sender chose how it is counted).
 */
export function landingUrl(token: ClickToken): string {
  const url = new URL(token.url);
  if ([...url.searchParams.keys()].some((k) => k.toLowerCase().startsWith('utm_'))) return url.toString();
  url.searchParams.set('utm_source', 'trackmate');
  url.searchParams.set('utm_medium', 'email');
  url.searchParams.set('utm_campaign', token.source.name);
  url.searchParams.set('utm_content', token.source.id);
  return url.toString();
}

/** Apple's own address blocks (17.0.0.0/8, 2620:149::/32, 2a01:b740::/32): Mail Privacy Protection fetches from them. */
const APPLE_NETWORK = /^(?:(?:::ffff:)?17\.|2620:149:|2a01:b740:)/i;
/** Webmail image proxies that fetch a message's images when the reader opens it: their loads are the reader's. */
const READER_IMAGE_PROXY = /GoogleImageProxy|YahooMailProxy/;

/**
 * Why a click or open is not counted as a person's (null: it is): `scanner-timing` within SCANNER_WINDOW_MS of
 * sending (mail security gateways follow every link and load every image on delivery), `privacy-proxy` for an
 * open by Apple's Mail Privacy Protection (which loads every image of every message, opened or not: its bare
 * `Mozilla/5.0` agent, or an address of Apple's network), `scanner-agent` for no user agent or a known
 * robot's (isbot's list, which names the link checkers and preview fetchers). Gmail's and Yahoo's image
 * proxies load an image when the reader opens the message, so their opens count.
 */
export function suspectHit(
  hit: 'click' | 'open',
  token: Pick<MailToken, 'sentAt'>,
  client: { userAgent?: string; ip?: string },
  now = Date.now(),
): string | null {
  const { userAgent } = client;
  if (now - token.sentAt < SCANNER_WINDOW_MS) return 'scanner-timing';
  if (hit === 'open') {
    if (userAgent?.trim() === 'Mozilla/5.0' || (client.ip && APPLE_NETWORK.test(client.ip))) return 'privacy-proxy';
    if (userAgent && READER_IMAGE_PROXY.test(userAgent)) return null;
  }
  if (!userAgent || isbot(userAgent)) return 'scanner-agent';
  return null;
}

/** Why a click is not counted as a person's (null: it is): see suspectHit. */
export const suspectClick = (token: Pick<MailToken, 'sentAt'>, userAgent: string | undefined, now = Date.now()) =>
  suspectHit('click', token, { userAgent }, now);

/**
 * The rewriting of one message's rendered body for one person (`who`): each link to a tracked one made now
 * (the time of sending, for the scanner check); the collector's own links (unsubscribe, consent) stay as sent.
 */
export function linkTracker(
  config: Pick<Config, 'publicUrl'>,
  secret: string,
  who: Pick<ClickToken, 'siteId' | 'profileId' | 'source'>,
  sentAt = Date.now(),
) {
  const own = `${new URL(config.publicUrl).origin}/`;
  return (rendered: string, mode: 'text' | 'html') =>
    trackLinks(rendered, mode, own, (url) => clickUrl(config, secret, { ...who, url, sentAt }));
}
