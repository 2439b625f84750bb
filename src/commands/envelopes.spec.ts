import fc from 'fast-check';
import { fromCaller, fromSaga, fromScheduler, fromWorker } from './envelopes.js';
import { fireCommandId, retryCommandId } from './ids.js';

describe('the envelope of a command, by origin', () => {
  it('gives each request of a caller a command of its own, in the request correlation', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.uuid(), (id, correlationId) => {
        const first = fromCaller({ id, correlationId });
        const again = fromCaller({ id, correlationId });
        expect(first).toMatchObject({ actor: `user:${id}`, correlationId });
        expect(first.causationId).toBeUndefined();
        // A retried request is a new command: the event store must not drop it as a duplicate.
        expect(again.commandId).not.toBe(first.commandId);
      }),
    );
  });

  it('starts a chain of its own for a fire, and goes on with the failed run chain for a retry', () => {
    const fire = fireCommandId('job-1', '2026-12-01T10:00:00.000Z');
    expect(fromScheduler('a', fire)).toEqual({ commandId: fire, actor: 'scheduler:a', correlationId: fire });
    const retry = retryCommandId('exec-1');
    expect(fromScheduler('a', retry, 'fire:job-1:x')).toEqual({ commandId: retry, actor: 'scheduler:a', correlationId: 'fire:job-1:x' });
  });

  it('keeps the chain of what a worker, the notifier or a saga acts on, under its own actor', () => {
    const chain = { correlationId: 'fire:job-1:x', causationId: 'event-9' };
    expect(fromWorker('w', 'StartExecution:e', chain)).toEqual({ commandId: 'StartExecution:e', actor: 'worker:w', ...chain });
    expect(fromWorker('w', 'notify:n', chain, 'notifier')).toEqual({ commandId: 'notify:n', actor: 'notifier:w', ...chain });
    expect(fromSaga('undeliverable-work', 'undeliverable:e', chain)).toEqual({ commandId: 'undeliverable:e', actor: 'saga:undeliverable-work', ...chain });
  });
});
