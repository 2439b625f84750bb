import { backoffDelay } from './durable-consumer.js';

describe('the consumer runner', () => {
  it('backs off exponentially, capped, from the first try on', () => {
    expect([1, 2, 3, 4, 5, 6, 100].map((tries) => backoffDelay(tries, { firstMs: 1000, maxMs: 10_000 }))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(backoffDelay(0, { firstMs: 250, maxMs: 1000 })).toBe(250);
    expect(backoffDelay(3, { firstMs: 1000, maxMs: 1000 })).toBe(1000);
  });
});
