import fc from 'fast-check';
import { OwnerFairSlots, SlotsClosedError } from './owner-fair-slots.js';

/** Settles the promise callbacks queued so far. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Acquires for `owner` and records, in `started`, when the item may start. */
function take(slots: OwnerFairSlots, owner: string, name: string, started: string[]): Promise<void> {
  return slots.acquire(owner).then(() => void started.push(name));
}

describe('a worker\'s slots shared between owners', () => {
  it('gives an owner at most its share of the slots, leaving the rest to others', async () => {
    const slots = new OwnerFairSlots(4, 2);
    const started: string[] = [];
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) void take(slots, 'a', name, started);
    void take(slots, 'b', 'b1', started);
    await settle();
    expect(started).toEqual(['a1', 'a2', 'b1']);
    expect({ running: slots.running, ready: slots.ready, parked: slots.parked }).toEqual({ running: 3, ready: 0, parked: 3 });
    expect(slots.isOwnerFull('a')).toBe(true);
    expect(slots.isOwnerFull('b')).toBe(false);
  });

  it('gives a slot that frees up to the waiting owner with the fewest runs, and an owner\'s items in their order', async () => {
    const slots = new OwnerFairSlots(3, 3);
    const started: string[] = [];
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) void take(slots, 'a', name, started);
    void take(slots, 'b', 'b1', started);
    void take(slots, 'b', 'b2', started);
    await settle();
    expect(started).toEqual(['a1', 'a2', 'a3']);
    expect({ ready: slots.ready, parked: slots.parked }).toEqual({ ready: 2, parked: 2 });
    slots.release('a');
    await settle();
    expect(started.at(-1)).toBe('b1');
    slots.release('a');
    await settle();
    // b has one run, a has one: among equals, the one served least recently (a).
    expect(started.at(-1)).toBe('a4');
    slots.release('a');
    await settle();
    expect(started.at(-1)).toBe('b2');
  });

  it('starts at once while slots are free and nothing of the owner waits before', () => {
    const slots = new OwnerFairSlots(2, 1);
    expect(slots.tryAcquire('a')).toBe(true);
    expect(slots.tryAcquire('a')).toBe(false);
    expect(slots.tryAcquire('b')).toBe(true);
    expect(slots.tryAcquire('c')).toBe(false);
    slots.release('a');
    expect(slots.tryAcquire('c')).toBe(true);
  });

  it('hands back every waiting item when closed, and refuses new ones; runs in progress end as usual', async () => {
    const slots = new OwnerFairSlots(1, 1);
    expect(slots.tryAcquire('a')).toBe(true);
    const waiting = [slots.acquire('a'), slots.acquire('b')];
    slots.close();
    for (const wait of waiting) await expect(wait).rejects.toBeInstanceOf(SlotsClosedError);
    await expect(slots.acquire('c')).rejects.toBeInstanceOf(SlotsClosedError);
    expect({ running: slots.running, ready: slots.ready, parked: slots.parked }).toEqual({ running: 1, ready: 0, parked: 0 });
    slots.release('a');
    expect(slots.running).toBe(0);
  });

  it('keeps its promises under any sequence of arrivals and ends of runs', async () => {
    const step = fc.oneof(fc.record({ arrive: fc.constantFrom('a', 'b', 'c', 'd') }), fc.record({ end: fc.nat(20) }));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.array(step, { maxLength: 60 }), async (total, share, steps) => {
        const perOwner = Math.min(share, total);
        const slots = new OwnerFairSlots(total, perOwner);
        const running: string[] = [];
        const waiting = new Map<string, number[]>();
        const order: { owner: string; item: number }[] = [];
        let next = 0;
        const runs = (owner: string) => running.filter((o) => o === owner).length;
        for (const s of steps) {
          if ('arrive' in s) {
            const item = next++;
            waiting.set(s.arrive, [...(waiting.get(s.arrive) ?? []), item]);
            void slots.acquire(s.arrive).then(() => {
              running.push(s.arrive);
              order.push({ owner: s.arrive, item });
            });
          } else if (running.length > 0) {
            const [owner] = running.splice(s.end % running.length, 1);
            const before = order.length;
            const started = new Set(order.map((o) => o.item));
            const candidateRuns = ['a', 'b', 'c', 'd'].filter((o) => (waiting.get(o) ?? []).some((item) => !started.has(item)) && runs(o) < perOwner).map(runs);
            slots.release(owner!);
            await settle();
            // The freed slot went to the waiting owner with the fewest runs.
            if (order.length > before) {
              const granted = order.at(-1)!.owner;
              expect(runs(granted) - 1).toBe(Math.min(...candidateRuns));
            }
          }
          await settle();
          // Never more than the slots, nor more than an owner's share.
          expect(slots.running).toBe(running.length);
          expect(slots.running).toBeLessThanOrEqual(total);
          for (const owner of ['a', 'b', 'c', 'd']) expect(runs(owner)).toBeLessThanOrEqual(perOwner);
          // No slot idles while an owner under its share waits.
          const started = new Set(order.map((o) => o.item));
          const eligible = ['a', 'b', 'c', 'd'].filter((owner) => (waiting.get(owner) ?? []).some((item) => !started.has(item)) && runs(owner) < perOwner);
          if (slots.running < total) expect(eligible).toEqual([]);
          const stillWaiting = [...waiting.values()].flat().filter((item) => !started.has(item)).length;
          expect(slots.ready + slots.parked).toBe(stillWaiting);
        }
        // Each owner's items started in the order they arrived.
        for (const owner of ['a', 'b', 'c', 'd']) {
          const items = order.filter((o) => o.owner === owner).map((o) => o.item);
          expect(items).toEqual([...items].sort((x, y) => x - y));
        }
      }),
      { numRuns: 300 },
    );
  });
});
