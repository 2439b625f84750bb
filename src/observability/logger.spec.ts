import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { MASK } from '../secrets/job-secrets.js';
import { withLogContext } from './log-context.js';
import { createLogger } from './logger.js';

describe('the application logger', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const last = () => lines[lines.length - 1]!;

  beforeAll(() => Logger.overrideLogger(logger));
  beforeEach(() => (lines.length = 0));

  it('writes one JSON line per entry with level, time, msg and the Nest context', () => {
    new Logger('Scheduler').log('became the active scheduler');
    expect(lines).toHaveLength(1);
    expect(last()).toMatchObject({ level: 'info', context: 'Scheduler', msg: 'became the active scheduler' });
    expect(new Date(last().time as string).toISOString()).toBe(last().time);
  });

  it('maps Nest levels onto pino levels, honouring the configured one', () => {
    const log = new Logger('Levels');
    log.verbose('not written: below debug');
    log.debug('d');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['debug', 'd'], ['warn', 'w'], ['error', 'e'], ['fatal', 'f']]);
  });

  it('takes an object message as the fields of the line, an Error as err, and a stack after an error message', () => {
    const log = new Logger('Fields');
    log.log({ msg: 'lifecycle replay done', replayId: 'r-1', published: 3 });
    expect(last()).toMatchObject({ msg: 'lifecycle replay done', replayId: 'r-1', published: 3, context: 'Fields' });
    log.error(new Error('boom'));
    expect(last()).toMatchObject({ level: 'error', msg: 'boom', err: { type: 'Error', message: 'boom' } });
    log.error('request failed', 'Error: boom\n    at x (y.js:1:1)');
    expect(last()).toMatchObject({ msg: 'request failed', stack: 'Error: boom\n    at x (y.js:1:1)', context: 'Fields' });
  });

  it('adds the current log context to every line, the line’s own fields first', async () => {
    await withLogContext({ correlationId: 'c-1', jobId: 'j-1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      withLogContext({ executionId: 'e-1', attempt: 2 }, () => new Logger('Worker').log({ msg: 'execution finished', jobId: 'explicit' }));
    });
    expect(last()).toMatchObject({ correlationId: 'c-1', jobId: 'explicit', executionId: 'e-1', attempt: 2, msg: 'execution finished' });
    new Logger('Outside').log('no context');
    expect(last()).not.toHaveProperty('correlationId');
  });

  it('masks sensitive fields whatever a call passes', () => {
    new Logger('Careless').warn({
      msg: 'oops',
      password: 'hunter2',
      headers: { authorization: 'Bearer abc' },
      request: { body: { password: 'hunter2' }, authorization: 'Bearer abc', method: 'POST' },
      job: { payload: { url: 'https://example.com' } },
    });
    expect(JSON.stringify(last())).not.toMatch(/hunter2|Bearer abc|example\.com/);
    expect(last()).toMatchObject({ password: MASK, headers: MASK, request: { body: MASK, authorization: MASK, method: 'POST' }, job: { payload: MASK } });
  });

  it('masks every sensitive field at the top level and one below, and leaves the caller’s object as it was', () => {
    const sensitive = ['password', 'token', 'authorization', 'headers', 'body', 'payload', 'spec', 'env', 'secret'];
    const key = fc.oneof(fc.constantFrom(...sensitive), fc.constantFrom('method', 'jobId', 'request', 'job', 'user'), fc.string({ maxLength: 6 }).filter((k) => !['msg', 'context', 'level', 'time'].includes(k)));
    // Every leaf is a marker that may appear in the line only if no sensitive key is on its path.
    const leaf = fc.uuid().map((id) => `leaf-${id}`);
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', maxDepth: 3 }, leaf, fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, tree, { maxKeys: 6 }), (fields) => {
        const before = JSON.stringify(fields);
        new Logger('Property').log({ ...fields, msg: 'm' });
        expect(JSON.stringify(fields)).toBe(before);
        const line = JSON.stringify(last());
        const hidden = (value: unknown, depth: number, masked: boolean, out: { shown: string[]; masked: string[] }) => {
          if (typeof value === 'string') (masked ? out.masked : out.shown).push(value);
          else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) hidden(v, depth + 1, masked || (depth < 2 && sensitive.includes(k)), out);
          return out;
        };
        const { masked, shown } = hidden(fields, 0, false, { shown: [], masked: [] });
        for (const marker of masked) expect(line).not.toContain(`"${marker}"`);
        for (const marker of shown) expect(line).toContain(`"${marker}"`);
      }),
    );
  });
});
