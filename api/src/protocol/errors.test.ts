import { describe, expect, it } from 'vitest';
import { documentedErrorCodes } from '../testing/docs.ts';
import { ERROR_CODES } from './errors.ts';

describe('error codes', () => {
  it('are the ones docs/protocol.md documents, no more and no fewer', () => {
    expect([...documentedErrorCodes()].sort()).toEqual([...ERROR_CODES].sort());
  });
});
