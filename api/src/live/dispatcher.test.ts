import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './dispatcher.ts';

const parse = (text: string) => parseClientFrame(Buffer.from(text), false);

describe('parseClientFrame', () => {
  it('answers unknown_type, never throws, for a type that cannot be turned into a string', () => {
    for (const text of ['{"type":{"toString":1}}', '{"type":{"valueOf":1,"toString":2}}', '{"type":null}', '{"type":[1]}', '{"type":7}']) {
      const res = parse(text);
      expect(res.ok).toBe(false);
      if (!res.ok) expect(res.error.code).toBe('unknown_type');
    }
  });

  it('keeps the request id of a refused message so the client can match the error', () => {
    const res = parse('{"type":"nope","requestId":"r1"}');
    expect(res).toMatchObject({ ok: false, requestId: 'r1' });
  });
});
