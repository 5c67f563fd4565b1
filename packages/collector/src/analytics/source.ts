import { ReferrerParser } from '@tryghost/referrer-parser';
import type { EventSource } from '../models/index.js';

export type Channel =
  | 'Direct'
  | 'Cross-network'
  | 'Paid Shopping'
  | 'Paid Search'
  | 'Paid Social'
  | 'Paid Video'
  | 'Display'
  | 'Paid Other'
  | 'Organic Shopping'
  | 'Organic Social'
  | 'Organic Video'
  | 'Organic Search'
  | 'Referral'
  | 'Email'
  | 'Affiliates'
  | 'Audio'
  | 'SMS'
  | 'Mobile Push Notifications'
  | 'Unassigned';

/**
 * Search engines, social networks and webmail come from @tryghost/referrer-parser's list (Snowplow's referer
 * list, kept up to date by Ghost, MIT); video and shopping sites, which it does not class, from these short lists
 * (the sites GA4's own lists start with).
 */
const VIDEO = /(^|\.)(youtube\.com|youtu\.be|vimeo\.com|twitch\.tv|dailymotion\.com|wistia\.com|rumble\.com)$/;
const SHOPPING =
  /(^|\.)(amazon\.[a-z.]+|ebay\.[a-z.]+|etsy\.com|shopping\.google\.com|walmart\.com|aliexpress\.com|shopify\.com)$/;
const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
const SHOP_CAMPAIGN = /^(.*(([^a-df-z]|^)shop|shopping).*)$/;
const DISPLAY = new Set(['display', 'banner', 'expandable', 'interstitial', 'cpm']);
const SOCIAL_MEDIUM = new Set(['social', 'social-network', 'social-media', 'sm', 'social network', 'social media']);
const EMAIL = new Set(['email', 'e-mail', 'e_mail', 'e mail', 'newsletter']);

const parser = new ReferrerParser();
/** Referrer list lookups by host (a site sees few distinct referring hosts). */
const mediumCache = new Map<string, string | null>();

function listedMedium(host: string): string | null {
  let m = mediumCache.get(host);
  if (m === undefined) {
    m = (parser.parse(`https://${host}/`).referrerMedium as string | null | undefined) ?? null;
    if (mediumCache.size > 20_000) mediumCache.clear();
    mediumCache.set(host, m);
  }
  return m;
}

const param = (q: URLSearchParams, name: string) => {
  const v = q.get(name)?.trim();
  return v ? v.slice(0, 256) : null;
};

const hostOf = (raw: unknown): string | null => {
  if (typeof raw !== 'string' || !raw) return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'android-app:') return null;
    return u.hostname.toLowerCase().replace(/^www\./, '') || null;
  } catch {
    return null;
  }
};

/**
 * The source of a landing: UTM parameters and click ids of its URL, the referring host, and the channel GA4's
 * default channel grouping gives them (its rules, in its order). A referrer on the site's own host is no source.
 * `utm_medium=email` marks our own campaign e-mails' links, as it does anyone's.
 */
export function sourceOf(url: unknown, referrer: unknown): EventSource {
  let q = new URLSearchParams();
  let pageHost: string | null = null;
  if (typeof url === 'string') {
    try {
      const u = new URL(url);
      q = u.searchParams;
      pageHost = u.hostname.toLowerCase().replace(/^www\./, '');
    } catch {
      /* not a URL: no parameters */
    }
  }
  const utm = {
    source: param(q, 'utm_source'),
    medium: param(q, 'utm_medium'),
    campaign: param(q, 'utm_campaign'),
    term: param(q, 'utm_term'),
    content: param(q, 'utm_content'),
  };
  const clickKind = ['gclid', 'msclkid', 'fbclid'].find((k) => q.get(k));
  const clickId = clickKind ? `${clickKind}:${q.get(clickKind)!.slice(0, 200)}` : null;
  let referrerHost = hostOf(referrer);
  if (referrerHost && referrerHost === pageHost) referrerHost = null;
  return { channel: channelOf(utm, clickKind ?? null, referrerHost), referrerHost, utm, clickId };
}

function channelOf(utm: EventSource['utm'], click: string | null, referrerHost: string | null): Channel {
  // auto-tagged ad clicks carry no UTM: GA4 reads them as google / cpc and bing / cpc
  let source = utm.source?.toLowerCase() ?? null;
  let medium = utm.medium?.toLowerCase() ?? null;
  if (!source && !medium && (click === 'gclid' || click === 'msclkid')) {
    source = click === 'gclid' ? 'google' : 'bing';
    medium = 'cpc';
  }
  const campaign = utm.campaign?.toLowerCase() ?? '';
  if (!source && !medium && !referrerHost) return 'Direct';
  const host = source ?? referrerHost ?? '';
  const listed = host.includes('.') ? listedMedium(host) : listedName(host);
  const isSearch = listed === 'search';
  const isVideo = VIDEO.test(host) || VIDEO.test(`${host}.com`);
  // the list counts YouTube as social; GA4's source categories have it as video
  const isSocial = listed === 'social' && !isVideo;
  const isShopping = SHOPPING.test(host) || SHOPPING.test(`${host}.com`);
  const paid = medium !== null && PAID_MEDIUM.test(medium);
  if (campaign.includes('cross-network')) return 'Cross-network';
  if ((isShopping || SHOP_CAMPAIGN.test(campaign)) && paid) return 'Paid Shopping';
  if (isSearch && paid) return 'Paid Search';
  if (isSocial && paid) return 'Paid Social';
  if (isVideo && paid) return 'Paid Video';
  if (medium && DISPLAY.has(medium)) return 'Display';
  if (paid) return 'Paid Other';
  if (isShopping || SHOP_CAMPAIGN.test(campaign)) return 'Organic Shopping';
  if (isSocial || (medium !== null && SOCIAL_MEDIUM.has(medium))) return 'Organic Social';
  if (isVideo || (medium?.includes('video') ?? false)) return 'Organic Video';
  if (isSearch || medium === 'organic') return 'Organic Search';
  if (medium === 'referral' || medium === 'app' || medium === 'link') return 'Referral';
  if ((source && EMAIL.has(source)) || (medium && EMAIL.has(medium)) || listed === 'email') return 'Email';
  if (medium === 'affiliate') return 'Affiliates';
  if (medium === 'audio') return 'Audio';
  if (source === 'sms' || medium === 'sms') return 'SMS';
  if (medium && (medium.endsWith('push') || medium.includes('mobile') || medium.includes('notification')))
    return 'Mobile Push Notifications';
  if (source === 'firebase') return 'Mobile Push Notifications';
  // a referrer without tags is a referral (GA4 sets medium "referral" for it); tags it cannot place are Unassigned
  if (!utm.source && !utm.medium && referrerHost) return 'Referral';
  return 'Unassigned';
}

/** utm_source values are often names, not hosts ("google", "facebook"): look them up as `name.com`. */
const listedName = (name: string): string | null => (name ? listedMedium(`${name}.com`) : null);
