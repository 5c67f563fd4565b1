import { describe, expect, it } from 'vitest';
import { parseAgent } from '../device.js';
import { openGeo } from '../geo.js';
import { AGENTS } from './agents.js';

describe('device from the user agent (ua-parser-js 1.x, isbot)', () => {
  it.each([
    ['chromeWindows', { browser: 'Chrome', browserVersion: '120', os: 'Windows', type: 'desktop' }],
    ['safariIphone', { browser: 'Mobile Safari', browserVersion: '17', os: 'iOS', type: 'mobile' }],
    ['safariIpad', { browser: 'Mobile Safari', browserVersion: '16', os: 'iOS', type: 'tablet' }],
    ['firefoxMac', { browser: 'Firefox', browserVersion: '121', os: 'Mac OS', type: 'desktop' }],
    ['chromeAndroid', { browser: 'Chrome', browserVersion: '120', os: 'Android', type: 'mobile' }],
  ] as const)('%s', (name, device) => {
    expect(parseAgent(AGENTS[name])).toEqual({ device, bot: false });
  });

  it('flags crawlers and headless browsers as bots', () => {
    expect(parseAgent(AGENTS.googlebot).bot).toBe(true);
    expect(parseAgent(AGENTS.headless).bot).toBe(true);
  });

  it('treats a missing user agent as an unknown desktop, not a bot', () => {
    expect(parseAgent(null)).toEqual({
      device: { browser: null, browserVersion: null, os: null, type: 'desktop' },
      bot: false,
    });
  });
});

describe('place from the address (the bundled DB-IP country database)', () => {
  const geo = openGeo();
  it.each([
    ['8.8.8.8', 'US'],
    ['81.2.69.142', 'GB'],
    ['133.242.0.1', 'JP'],
    ['200.160.0.1', 'BR'],
    ['2001:67c:1401::1', 'DE'],
    ['::ffff:81.2.69.142', 'GB'],
  ])('%s is in %s', (ip, country) => {
    expect(geo.lookup(ip)).toEqual({ country, region: null });
  });

  it('knows nothing of private, documentation and malformed addresses', () => {
    expect(geo.lookup('127.0.0.1')).toBeNull();
    expect(geo.lookup('203.0.113.9')).toBeNull();
    expect(geo.lookup('not-an-ip')).toBeNull();
    expect(geo.lookup(undefined)).toBeNull();
  });
});
