/**
 * Regression (issue 22): every sign-in reaches the collector from the console's one address, so about one bad
 * sign-in per second from anyone kept every administrator's sign-in at 429. The console now limits failed
 * sign-ins per visitor and forwards the visitor's address to the collector, signed with a shared secret; the
 * collector counts unknown keys per visitor and never refuses a key some site has.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Child,
  createSite,
  ensureBuilt,
  isolatedEnv,
  launchChromium,
  removeTestData,
  startCollector,
  startConsole,
} from './harness.js';

const SECRET = randomBytes(32).toString('base64url');
let env: Record<string, string>;
let collector: Child;
let consoleApp: Child;
let browser: Browser;
let site: { secretKey: string };

beforeAll(async () => {
  ensureBuilt('packages/console');
  env = { ...isolatedEnv(), TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '3', TRACKMATE_CONSOLE_SECRET: SECRET };
  collector = await startCollector(env);
  site = createSite(env, 'https://shop.test');
  // one proxy in front (the test's X-Forwarded-For plays it), five failed sign-ins per visitor
  consoleApp = await startConsole(collector.url, {
    TRACKMATE_CONSOLE_SECRET: SECRET,
    TRACKMATE_CONSOLE_TRUST_PROXY: '1',
    TRACKMATE_CONSOLE_SIGNIN_LIMIT: '5',
  });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await collector?.stop();
  await removeTestData(env);
});

const CONSOLE_BIN = join(import.meta.dirname, '../bin/trackmate-console.mjs');

const visitor = async (ip: string): Promise<Page> => {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': ip } });
  const page = await context.newPage();
  await page.goto(`${consoleApp.url}/sign-in`);
  return page;
};
const signIn = async (page: Page, key: string) => {
  await page.getByLabel('Secret key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
};

describe('sign-in limits (Chromium, console and collector)', { timeout: 90_000 }, () => {
  it("one visitor's bad sign-ins hold up that visitor only; an administrator elsewhere signs in at once", async () => {
    const attacker = await visitor('198.51.100.7');
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      await signIn(attacker, `sk_${randomBytes(32).toString('base64url')}`);
      const alert = attacker.locator('.error[role="alert"]');
      await alert.waitFor();
      answers.push((await alert.textContent()) ?? '');
      await attacker.reload(); // a fresh form, so each answer is its own
    }
    // three unknown keys, then the collector refuses that visitor, then the console itself does
    expect(answers.slice(0, 3).every((a) => a.includes('does not know this secret key'))).toBe(true);
    expect(answers.slice(3, 5).every((a) => /Too many unknown keys/.test(a))).toBe(true);
    expect(answers[5]).toMatch(/Too many failed sign-ins from your address: try again in \d+ minute/);

    // the administrator, from another address, right after: in (before, 429 from the shared console address)
    const admin = await visitor('203.0.113.5');
    await signIn(admin, site.secretKey);
    await admin.waitForURL(`${consoleApp.url}/`);
  });

  // (issue 22, by reading) the session cookie holds a secret key; over plain HTTP on a shared network anyone on the
  // way reads it
  it('refuses to serve plain HTTP on an address other than loopback unless told a TLS proxy is in front', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [CONSOLE_BIN, '--host', '0.0.0.0', '--port', 'x'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    const refused = run({});
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refusing to serve plain HTTP on 0\.0\.0\.0.*TRACKMATE_CONSOLE_ALLOW_HTTP=true/);
    // told: it goes on to the next check (the bad port here), so nothing is left listening
    const allowed = run({ TRACKMATE_CONSOLE_ALLOW_HTTP: 'true' });
    expect(allowed.status).toBe(1);
    expect(allowed.stderr).toMatch(/--port must be a port number/);
  });
});
