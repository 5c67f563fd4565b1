import { describe, expect, it } from 'vitest';
import { ERRORS, loggable, TrackMateError } from '../errors.js';

describe('errors', () => {
  it('answers every code with its table status and message', () => {
    for (const code of Object.keys(ERRORS) as Array<keyof typeof ERRORS>) {
      const reply = new TrackMateError(code).toReply();
      expect(reply).toMatchObject({ statusCode: ERRORS[code].status, code, message: ERRORS[code].message });
    }
  });

  it('masks e-mail addresses in what it logs (SMTP answers and duplicate keys carry them)', () => {
    const smtp = new Error('550 5.1.1 <ada.lovelace+shop@example.co.uk>: Recipient address rejected');
    expect(loggable(smtp)).toBe('550 5.1.1 <<e-mail>>: Recipient address rejected');
    const dup = new Error('E11000 duplicate key error dup key: { siteId: ObjectId(…), email: "bob@shop.test" }');
    expect(loggable(dup)).not.toContain('bob@shop.test');
    expect(loggable('x'.repeat(2_000))).toHaveLength(500);
  });
});
