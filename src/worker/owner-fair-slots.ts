/** Rejects the waits of a worker that is shutting down: what has not started is handed back. */
export class SlotsClosedError extends Error {
  override name = 'SlotsClosedError';
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * One worker's run slots shared between owners (docs/guarantees.md#g9; docs/architecture.md, Fair shares): at most
 * `total` runs at once and at most `perOwner` of one owner, so one owner's flood leaves the other slots free.
 * A slot that frees up goes to the waiting owner with the fewest runs (among equals, the one served least
 * recently); an owner's own items start in the order they came. Bookkeeping only: no timers, no I/O.
 */
export class OwnerFairSlots {
  private runningTotal = 0;
  private readonly runningBy = new Map<string, number>();
  /** Waiting items by owner, oldest first; the map's order is the order owners were last served. */
  private readonly waiting = new Map<string, Waiter[]>();
  private waitingTotal = 0;
  /** Waiting items whose owner is under `perOwner`: they start as soon as slots free up. */
  private readyTotal = 0;
  private closed = false;

  constructor(
    readonly total: number,
    readonly perOwner: number,
  ) {}

  get running(): number {
    return this.runningTotal;
  }

  /** Waiting items that only lack a free slot. */
  get ready(): number {
    return this.readyTotal;
  }

  /** Waiting items whose owner already has `perOwner` runs here. */
  get parked(): number {
    return this.waitingTotal - this.readyTotal;
  }

  runningOf(owner: string): number {
    return this.runningBy.get(owner) ?? 0;
  }

  waitingOf(owner: string): number {
    return this.waiting.get(owner)?.length ?? 0;
  }

  /** The owners with items waiting because they have all the runs they may have here. */
  parkedOwners(): string[] {
    return [...this.waiting.keys()].filter((owner) => this.isOwnerFull(owner));
  }

  /** Whether the owner has all the runs it may have here: its next item waits for one of them to end. */
  isOwnerFull(owner: string): boolean {
    return this.runningOf(owner) >= this.perOwner;
  }

  /** Takes a slot for the owner if one is free and no item of the owner waits before this one. */
  tryAcquire(owner: string): boolean {
    if (this.closed || this.runningTotal >= this.total || this.isOwnerFull(owner) || this.waiting.has(owner)) return false;
    this.change(owner, () => this.start(owner));
    return true;
  }

  /** Resolves when the owner's item may start (at once if a slot is free and its turn); rejects once closed. */
  acquire(owner: string): Promise<void> {
    if (this.closed) return Promise.reject(new SlotsClosedError('the worker is shutting down'));
    if (this.tryAcquire(owner)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.change(owner, () => {
        const queue = this.waiting.get(owner);
        if (queue) queue.push({ resolve, reject });
        else this.waiting.set(owner, [{ resolve, reject }]);
        this.waitingTotal++;
      });
      this.grant();
    });
  }

  /** A run of the owner ended: its slot goes to whoever is next. */
  release(owner: string): void {
    this.change(owner, () => {
      const count = this.runningOf(owner) - 1;
      if (count > 0) this.runningBy.set(owner, count);
      else this.runningBy.delete(owner);
      this.runningTotal--;
    });
    this.grant();
  }

  /** Shutting down: every waiting item is rejected (its work item is handed back); running ones finish. */
  close(): void {
    this.closed = true;
    const waiters = [...this.waiting.values()].flat();
    this.waiting.clear();
    this.waitingTotal = 0;
    this.readyTotal = 0;
    for (const waiter of waiters) waiter.reject(new SlotsClosedError('the worker is shutting down'));
  }

  /** Starts waiting items while slots are free: each time the eligible owner with the fewest runs. */
  private grant(): void {
    while (this.runningTotal < this.total) {
      let next: string | undefined;
      for (const owner of this.waiting.keys()) {
        if (!this.isOwnerFull(owner) && (next === undefined || this.runningOf(owner) < this.runningOf(next))) next = owner;
      }
      if (next === undefined) return;
      const owner = next;
      let waiter: Waiter | undefined;
      this.change(owner, () => {
        const queue = this.waiting.get(owner)!;
        waiter = queue.shift()!;
        this.waitingTotal--;
        // Served: to the end of the line, or out of it.
        this.waiting.delete(owner);
        if (queue.length > 0) this.waiting.set(owner, queue);
        this.start(owner);
      });
      waiter!.resolve();
    }
  }

  private start(owner: string): void {
    this.runningBy.set(owner, this.runningOf(owner) + 1);
    this.runningTotal++;
  }

  /** Applies a change to one owner's counts, keeping `readyTotal` (each owner's waiting items it could still start) in step. */
  private change(owner: string, apply: () => void): void {
    this.readyTotal -= this.readyOf(owner);
    apply();
    this.readyTotal += this.readyOf(owner);
  }

  private readyOf(owner: string): number {
    return Math.min(this.waitingOf(owner), Math.max(0, this.perOwner - this.runningOf(owner)));
  }
}
