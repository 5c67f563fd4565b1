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
    [{ TRACKMATE_TRUST_PROXY: 'maybe' }, /TRACKMATE_TRUST_PROXY must be false, a hop count or proxy addresses/],
    [{ TRACKMATE_TRUST_PROXY: '10.0.0.0/33' }, /TRACKMATE_TRUST_PROXY .* got "10.0.0.0\/33"/],
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

  it('trusts proxies by hop count or by address, never every hop', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRACKMATE_TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ TRACKMATE_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRACKMATE_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
    ]);
  });

  it('takes a Redis Cluster as redis+cluster:// and puts every key under the prefix as hash tag', () => {
    expect(loadConfig({}).queuePrefix).toBe('trackmate');
    const cluster = loadConfig({ REDIS_URL: 'redis+cluster://10.0.0.5:6379', TRACKMATE_QUEUE_PREFIX: 'shop' });
    expect(cluster.redisUrl).toBe('redis+cluster://10.0.0.5:6379');
    expect(cluster.queuePrefix).toBe('{shop}');
    expect(loadConfig({ REDIS_URL: 'rediss+cluster://u:p@cfg.cache.amazonaws.com:6379' }).queuePrefix).toBe(
      '{trackmate}',
    );
    expect(() => loadConfig({ REDIS_URL: 'cluster://x' })).toThrow(/REDIS_URL must start with/);
  });
});
