import { describe, expect, it } from 'vitest';
import { sourceOf } from '../source.js';

const land = (query = '') => `https://shop.test/landing${query}`;

describe('source and channel of a landing (GA4 default channel grouping)', () => {
  it.each([
    ['no referrer, no tags', land(), '', 'Direct'],
    ['a search engine', land(), 'https://www.google.com/search?q=mugs', 'Organic Search'],
    ['another search engine', land(), 'https://duckduckgo.com/', 'Organic Search'],
    ['a social network', land(), 'https://t.co/abc', 'Organic Social'],
    ['facebook mobile', land(), 'https://m.facebook.com/', 'Organic Social'],
    ['a video site', land(), 'https://www.youtube.com/watch?v=1', 'Organic Video'],
    ['webmail', land(), 'https://mail.google.com/', 'Email'],
    ['any other site', land(), 'https://blog.example.org/post', 'Referral'],
    ['a Google Ads click (gclid)', land('?gclid=abc'), 'https://www.google.com/', 'Paid Search'],
    ['a Microsoft Ads click (msclkid)', land('?msclkid=abc'), '', 'Paid Search'],
    ['utm cpc on a search engine', land('?utm_source=google&utm_medium=cpc'), '', 'Paid Search'],
    ['utm paid on a social network', land('?utm_source=facebook&utm_medium=paid_social'), '', 'Paid Social'],
    ['utm display', land('?utm_source=network&utm_medium=display'), '', 'Display'],
    ['utm paid elsewhere', land('?utm_source=partner&utm_medium=ppc'), '', 'Paid Other'],
    ['our campaign e-mails (utm_medium=email)', land('?utm_source=trackmate&utm_medium=email'), '', 'Email'],
    ['a newsletter tagged as source', land('?utm_source=newsletter'), '', 'Email'],
    ['affiliates', land('?utm_source=blogger&utm_medium=affiliate'), '', 'Affiliates'],
    ['sms', land('?utm_source=sms'), '', 'SMS'],
    ['shopping campaign', land('?utm_source=x&utm_medium=cpc&utm_campaign=summer-shopping'), '', 'Paid Shopping'],
    [
      'cross-network campaign',
      land('?utm_source=google&utm_medium=cpc&utm_campaign=pmax-cross-network'),
      '',
      'Cross-network',
    ],
    ['organic medium', land('?utm_source=ecosia&utm_medium=organic'), '', 'Organic Search'],
    ['tags it cannot place', land('?utm_source=poster&utm_medium=qr'), '', 'Unassigned'],
  ])('%s → %s', (_what, url, referrer, channel) => {
    expect(sourceOf(url, referrer).channel).toBe(channel);
  });

  it('keeps the referring host, UTM parameters and the click id', () => {
    const s = sourceOf(
      land('?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=mugs&utm_content=hero&fbclid=F1'),
      'https://www.example.org/a?b=c',
    );
    expect(s).toEqual({
      channel: 'Email',
      referrerHost: 'example.org',
      utm: { source: 'news', medium: 'email', campaign: 'spring', term: 'mugs', content: 'hero' },
      clickId: 'fbclid:F1',
    });
  });

  it('does not count the site itself as a referrer', () => {
    expect(sourceOf('https://shop.test/b', 'https://shop.test/a')).toMatchObject({
      channel: 'Direct',
      referrerHost: null,
    });
  });

  it('ignores a referrer that is not a web URL', () => {
    expect(sourceOf(land(), 'javascript:alert(1)')).toMatchObject({ channel: 'Direct', referrerHost: null });
    expect(sourceOf(undefined, 'not a url')).toMatchObject({ channel: 'Direct', referrerHost: null });
  });
});
