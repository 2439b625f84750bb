import fc from 'fast-check';
import { admit, needsCount, releasable, type OwnerQueue } from './work-admission.js';

describe('admission to the work stream', () => {
  /** Given an owner's queue, when its fires are decided in order, then each goes where it says. */
  const decide = (queue: OwnerQueue, fires: number, limit: number) => Array.from({ length: fires }, () => admit(queue, limit));

  it('sends an owner\'s fires to the work stream until it has its share there, then to its backlog, saying why', () => {
    const queue = { queued: 3, waiting: 0 };
    expect(decide(queue, 4, 5)).toEqual([{ to: 'work' }, { to: 'work' }, { to: 'backlog', queued: 5, ahead: 0 }, { to: 'backlog', queued: 5, ahead: 1 }]);
    expect(queue).toEqual({ queued: 5, waiting: 2 });
  });

  it('keeps an owner\'s fires behind its earlier ones waiting in the backlog, even with room in the work stream', () => {
    const queue = { queued: 0, waiting: 1 };
    expect(decide(queue, 1, 5)).toEqual([{ to: 'backlog', queued: 0, ahead: 1 }]);
  });

  it('asks the streams only when what is known cannot decide', () => {
    expect(needsCount(undefined, 1, 10)).toBe(true);
    expect(needsCount({ queued: 2, waiting: 0 }, 8, 10)).toBe(false);
    expect(needsCount({ queued: 2, waiting: 0 }, 9, 10)).toBe(true);
    expect(needsCount({ queued: 0, waiting: 1 }, 1, 10)).toBe(true);
  });

  it('releases from the backlog only what the share has room for', () => {
    expect(releasable(3, 10, 5)).toBe(2);
    expect(releasable(3, 1, 5)).toBe(1);
    expect(releasable(5, 10, 5)).toBe(0);
    expect(releasable(7, 10, 5)).toBe(0);
  });

  it('never takes an owner past its share, and defers only what would', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(5), fc.integer({ min: 1, max: 40 }), fc.nat(60), (queued, waiting, limit, fires) => {
        const queue = { queued, waiting };
        const admitted = decide(queue, fires, limit).filter((a) => a.to === 'work').length;
        const room = waiting > 0 ? 0 : Math.max(0, limit - queued);
        expect(admitted).toBe(Math.min(fires, room));
        expect(queue).toEqual({ queued: queued + admitted, waiting: waiting + fires - admitted });
        // A decision that the known bounds allow without asking is the one the counts would give.
        if (!needsCount({ queued, waiting }, fires, limit)) expect(admitted).toBe(fires);
      }),
    );
  });
});
