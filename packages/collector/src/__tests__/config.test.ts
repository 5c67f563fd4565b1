import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mongodbUri: 'mongodb://127.0.0.1:27017/trackmate',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'trackmate',
      port: 8080,
      host: '127.0.0.1',
      trustProxy: false,
      ipMode: 'full',
      logLevel: 'info',
    });
    expect(c.smtpUrl).toBeUndefined();
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ MONGODB_URI: 'postgres://x' }, /MONGODB_URI must start with mongodb:\/\//],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL is not a URL/],
    [{ TRACKMATE_IP_MODE: 'partial' }, /TRACKMATE_IP_MODE must be full, anonymize or none/],
    [{ TRACKMATE_TRUST_PROXY: 'maybe' }, /TRACKMATE_TRUST_PROXY must be true or false/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ TRACKMATE_QUEUE_PREFIX: 'a:b' }, /TRACKMATE_QUEUE_PREFIX/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL must start with smtp:\/\//],
  ])('stops with one line naming the variable for %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lets flags override the environment and never prints a password', () => {
    expect(loadConfig({ PORT: '9000' }, { port: 9100 }).port).toBe(9100);
    expect(() => loadConfig({ MONGODB_URI: 'http://user:hunter2@db' })).toThrow(/user:\*\*\*@db/);
  });
});
