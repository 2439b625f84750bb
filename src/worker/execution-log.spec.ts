import fc from 'fast-check';
import { MAX_MESSAGE_BYTES, MAX_METADATA_BYTES, recordableEntry } from '../executors/recordable.js';
import { ExecutionLogBuffer } from './execution-log.js';

/** What PostgreSQL text and jsonb refuse. */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('execution log entries', () => {
  it('are stored well-formed whatever an executor or a custom handler passes', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(recordableEntry('warn', 'bad\0line\ud800', { stream: 'stderr', raw: 'x\0', loop: circular, n: 1n })).toEqual({
      level: 'warn',
      message: 'bad\uFFFDline\uFFFD',
      metadata: { stream: 'stderr', raw: 'x\uFFFD', loop: { self: '[circular]' }, n: '1' },
    });
    // Not even the declared types: an unknown level, a message that is not a string, metadata that is not an object.
    expect(recordableEntry('fatal', { said: 'hi' }, ['a'])).toEqual({ level: 'info', message: '{"said":"hi"}', metadata: { value: ['a'] } });
    expect(recordableEntry('info', undefined, undefined)).toEqual({ level: 'info', message: 'undefined', metadata: {} });
  });

  it('are bounded: the message on a character with an ellipsis, the metadata as a truncated preview', () => {
    const entry = recordableEntry('info', `${'a'.repeat(MAX_MESSAGE_BYTES - 1)}😀`, { blob: 'z'.repeat(100_000) });
    expect(entry.message).toBe(`${'a'.repeat(MAX_MESSAGE_BYTES - 3)}…`);
    expect(entry.metadata).toMatchObject({ truncated: true, limitBytes: MAX_METADATA_BYTES });
    expect(Buffer.byteLength(JSON.stringify(entry.metadata))).toBeLessThanOrEqual(MAX_METADATA_BYTES);
  });

  it('mask secrets in the message and every metadata string before they are cut', () => {
    const logs = new ExecutionLogBuffer('job-1', 'exec-1', (text) => text.split('hunter2').join('••••••'));
    logs.log('info', 'password hunter2', { header: 'Bearer hunter2', nested: ['hunter2'] });
    expect(logs.drain()).toEqual([expect.objectContaining({ message: 'password ••••••', metadata: { header: 'Bearer ••••••', nested: ['••••••'] } })]);
  });

  it('anything logged can be shipped and stored', () => {
    const logs = new ExecutionLogBuffer('job-1', 'exec-1');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.anything({ withBigInt: true, withTypedArray: true, stringUnit: 'binary' }), (message, metadata) => {
        logs.log('info', message, metadata as Record<string, unknown>);
        for (const entry of logs.drain()) {
          const json = JSON.stringify(entry);
          expect(UNSTORABLE.test(entry.message)).toBe(false);
          expect(json).not.toMatch(/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i);
        }
      }),
    );
  });
});
