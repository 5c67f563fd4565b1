import { describe, expect, it } from 'vitest';
import { withHeartbeat } from '../heartbeat.js';

async function* slow(): AsyncGenerator<string> {
  yield '[';
  await new Promise((r) => setTimeout(r, 120));
  yield '1';
  yield ']';
}

describe('withHeartbeat', () => {
  it('sends a beat while the next chunk is late, and the chunks unchanged and in order', async () => {
    const out: string[] = [];
    for await (const chunk of withHeartbeat(slow(), 25)) out.push(chunk);
    expect(out.filter((c) => c !== ' ')).toEqual(['[', '1', ']']);
    expect(out.indexOf(' ')).toBe(1);
    expect(out.filter((c) => c === ' ').length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(out.join(''))).toEqual([1]);
  });

  it('sends no beat when chunks come in time', async () => {
    const out: string[] = [];
    for await (const chunk of withHeartbeat(slow(), 5_000)) out.push(chunk);
    expect(out).toEqual(['[', '1', ']']);
  });

  it('passes an error of the source on', async () => {
    async function* failing(): AsyncGenerator<string> {
      yield 'a';
      throw new Error('cursor closed');
    }
    const out: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of withHeartbeat(failing(), 1_000)) out.push(chunk);
      })(),
    ).rejects.toThrow('cursor closed');
    expect(out).toEqual(['a']);
  });
});
