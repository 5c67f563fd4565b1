import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import { CLI, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

const run = promisify(execFile);

describe('trackmate-collector dead-letters', () => {
  let t: TestApp;
  const cli = (args: string[]) =>
    run(process.execPath, [CLI, 'dead-letters', ...args], { env: { ...process.env, ...t.env } });

  const event = (messageId: string): QueuedEvent => {
    const now = new Date().toISOString();
    return {
      siteId: t.site.siteId,
      messageId,
      name: 'page_view',
      timestamp: now,
      receivedAt: now,
      anonymousId: 'anon-dl',
      sessionId: null,
      profileId: null,
      properties: { url: 'https://shop.test/', referrer: '', title: 'Home' },
      source: 'client',
      userAgent: null,
      ip: null,
    };
  };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists what could not be stored and replays it once, stored exactly once', async () => {
    const [a, b] = [`dl-${randomUUID()}`, `dl-${randomUUID()}`];
    const failedAt = new Date();
    await t.app.models.DeadLetter.insertMany([
      {
        queue: 'ingest',
        jobId: '7',
        siteId: new Types.ObjectId(t.site.siteId),
        reason: 'MongoDB was away for 68 minutes',
        attempts: 12,
        payload: event(a),
        failedAt,
      },
      {
        queue: 'ingest',
        jobId: '8',
        siteId: new Types.ObjectId(t.site.siteId),
        reason: 'kept as JSON text',
        attempts: 12,
        payload: { unstorable: true, json: JSON.stringify(event(b)) },
        failedAt,
      },
    ]);

    const listed = (await cli(['list', '--json'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(listed.map((d) => d.reason).sort()).toEqual(['MongoDB was away for 68 minutes', 'kept as JSON text']);
    expect(listed.map((d) => d.payload.messageId).sort()).toEqual([a, b].sort());
    expect(listed.every((d) => d.replayedAt === null)).toBe(true);
    expect((await cli(['list'])).stdout).toMatch(/ingest\s+MongoDB was away for 68 minutes/);

    expect((await cli(['replay', '--since', new Date(failedAt.getTime() - 1_000).toISOString()])).stdout).toMatch(
      /replayed 2 dead letter\(s\) \(2 event\(s\) queued for ingestion\)/,
    );
    await waitFor(
      async () => (await t.db.collection('events').countDocuments({ messageId: { $in: [a, b] } })) === 2,
      15_000,
      'both replayed events stored',
    );
    const marked = await t.db
      .collection('dead_letters')
      .find({ replayedAt: { $ne: null } })
      .toArray();
    expect(marked).toHaveLength(2);

    // a second replay finds nothing new; --id replays one again, and the event is still stored once
    expect((await cli(['replay'])).stdout).toMatch(/replayed 0 dead letter/);
    const again = (await cli(['replay', '--id', String(marked[0]!._id)])).stdout;
    expect(again).toMatch(/replayed 1 dead letter/);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await t.db.collection('events').countDocuments({ messageId: { $in: [a, b] } })).toBe(2);
  }, 120_000);

  it('says what is wrong with its options', async () => {
    await expect(cli(['list', '--since', 'last tuesday'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--since must be a date/),
    });
    await expect(cli(['replay', '--id', 'nope'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/not a dead letter id/),
    });
    await expect(cli(['purge'])).rejects.toMatchObject({ stderr: expect.stringMatching(/try: dead-letters list/) });
  }, 120_000);
});
