// Export and erasure of one person with a very large number of visitor ids (a script identifying with one
// e-mail from thousands of browsers), measured as the collector's resident memory while it streams the export
// and runs the erasure, beside its memory at rest. Both read the visitor ids once, in windows, and stream the
// events, so memory should stay flat whatever the number.
//
// The seed is what the pipeline stores: every event of a linked visitor id carries the profile's id (the link
// back-fills them), except `stragglers` (1 % by default: history stored before that guarantee, or a write caught
// mid-link) left without one, and `others` anonymous events of other visitors on the same site, which the
// unlinked pass has to read past.
import http from 'node:http';
import { MongoClient, ObjectId } from 'mongodb';
import { benchEnv, createSite, dropDatabase, dropRedisPrefix, fmt, sampleMax, startCollector, table } from './lib.mjs';

/** A request through node:http without any timeout; resolves to the response (a readable stream). */
function request(url, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

export async function benchPerson({
  visitors = 200_000,
  events: eventCount = visitors,
  stragglers = Math.round(eventCount / 100),
  others = Math.round(visitors / 4),
} = {}) {
  const env = benchEnv();
  const site = await createSite(env);
  const client = new MongoClient(env.MONGODB_URI);
  const db = client.db();
  const siteId = new ObjectId(site.siteId);
  const profileId = new ObjectId();
  const now = new Date();
  let collector;
  try {
    // a stored page view, `back` seconds before now
    const pageView = (messageId, owner, anonymousId, back) => ({
      siteId,
      messageId,
      profileId: owner,
      anonymousId,
      sessionId: null,
      name: 'page_view',
      timestamp: new Date(now.getTime() - back * 1000),
      receivedAt: now,
      properties: { url: 'https://shop.test/p', referrer: '', title: 'Product' },
      sentBy: 'client',
      userAgent: 'Mozilla/5.0',
      ip: '203.0.113.0',
    });
    const seedStarted = Date.now();
    await db.collection('profiles').insertOne({
      _id: profileId,
      siteId,
      email: 'many@example.com',
      emailKey: `${site.siteId}|many@example.com`,
      consent: { email: false },
      consentHistory: [],
      anonymousIds: [],
      createdAt: now,
      updatedAt: now,
    });
    for (let from = 0; from < visitors; from += 10_000) {
      const ids = Array.from({ length: Math.min(10_000, visitors - from) }, (_, i) => `bench-v-${from + i}`);
      await db.collection('identities').insertMany(
        ids.map((anonymousId) => ({
          _id: `${site.siteId}:${anonymousId}`,
          siteId,
          anonymousId,
          profileId,
          linkedAt: now,
        })),
        { ordered: false },
      );
      // one event per visitor id of the first `events`: linked to the profile, but one in every
      // eventCount / stragglers left without it
      const withEvents = ids.slice(0, Math.max(0, eventCount - from));
      const every = stragglers ? Math.max(1, Math.floor(eventCount / stragglers)) : 0;
      if (withEvents.length)
        await db.collection('events').insertMany(
          withEvents.map((anonymousId, i) =>
            pageView(
              `bench-e-${from + i}`,
              every && (from + i) % every === 0 ? null : profileId,
              anonymousId,
              from + i,
            ),
          ),
          { ordered: false },
        );
    }
    for (let from = 0; from < others; from += 10_000) {
      await db.collection('events').insertMany(
        Array.from({ length: Math.min(10_000, others - from) }, (_, i) =>
          pageView(`bench-o-${from + i}`, null, `bench-other-${from + i}`, from + i),
        ),
        { ordered: false },
      );
    }
    const seedMs = Date.now() - seedStarted;
    collector = await startCollector(env);
    const auth = { authorization: `Bearer ${site.secretKey}` };
    await new Promise((r) => setTimeout(r, 1_000));
    const atRest = collector.rss();

    const exportSampler = sampleMax(() => collector.rss(), 100);
    const exportStarted = Date.now();
    // node:http, not fetch: fetch gives up on a body silent for 5 minutes, and a long export may pause longer
    // than a heartbeat's interval under load
    const res = await request(`${collector.url}/api/profiles/${profileId}/export`, { headers: auth });
    let bytes = 0;
    let events = 0;
    let tail = '';
    for await (const chunk of res) {
      bytes += chunk.length;
      // counted across chunk boundaries: the text a chunk ends with is kept until the next one arrives
      const text = tail + Buffer.from(chunk).toString('utf8');
      events += (text.match(/"messageId":/g) ?? []).length;
      tail = text.slice(-11).includes('"') ? text.slice(text.lastIndexOf('"')) : '';
      if (tail.startsWith('"messageId":')) tail = '';
    }
    const exportMs = Date.now() - exportStarted;
    const exportRss = exportSampler.stop();

    const eraseSampler = sampleMax(() => collector.rss(), 100);
    const eraseStarted = Date.now();
    const erasure = await request(`${collector.url}/api/profiles/${profileId}`, { method: 'DELETE', headers: auth });
    let erasedText = '';
    for await (const chunk of erasure) erasedText += chunk;
    const erased = JSON.parse(erasedText);
    if (erasure.statusCode !== 200) throw new Error(`erasure answered ${erasure.statusCode}: ${erasedText}`);
    const eraseMs = Date.now() - eraseStarted;
    const eraseRss = eraseSampler.stop();
    const left = await db.collection('events').countDocuments({ siteId });

    table(
      `7. One person with ${fmt.n(visitors)} visitor ids and ${fmt.n(Math.min(eventCount, visitors))} events, ${fmt.n(stragglers)} of them unlinked, beside ${fmt.n(others)} other visitors' events (seeded in ${fmt.n(seedMs / 1000)} s): collector memory`,
      ['step', 'time', 'peak RSS', 'at rest', 'result'],
      [
        [
          'export (streamed)',
          fmt.ms(exportMs),
          fmt.mb(exportRss),
          fmt.mb(atRest),
          `${fmt.n(events)} events, ${fmt.mb(bytes)} of JSON, HTTP ${res.statusCode}`,
        ],
        [
          'erasure',
          fmt.ms(eraseMs),
          fmt.mb(eraseRss),
          fmt.mb(atRest),
          `${fmt.n(erased.deleted?.events)} events, ${fmt.n(erased.deleted?.identities)} links deleted; ${fmt.n(left)} left (${fmt.n(others)} expected)`,
        ],
      ],
    );
    return {
      visitors,
      stragglers,
      others,
      seedMs,
      atRest,
      export: { ms: exportMs, peakRss: exportRss, events, bytes },
      erase: { ms: eraseMs, peakRss: eraseRss, deleted: erased.deleted, left },
    };
  } finally {
    await collector?.stop();
    await client.close();
    await dropDatabase(env.MONGODB_URI);
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  }
}
