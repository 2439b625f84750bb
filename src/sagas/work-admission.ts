/**
 * Fair shares of the work stream (docs/guarantees.md#g9; docs/architecture.md, Fair shares): which fires go to the
 * workers now and which wait in their owner's backlog. Pure: the dispatch reaction tells it what it knows of
 * each owner's queue, and asks the streams for counts only when these bounds are not enough to decide.
 */

/** What the dispatcher knows of one owner's work. */
export interface OwnerQueue {
  /**
   * Items of the owner in the work stream (queued, held or running): the stream's count plus what was
   * admitted since. An upper bound, since workers remove items as runs finish.
   */
  queued: number;
  /** Fires of the owner waiting in its backlog: the stream's count plus what was deferred since. */
  waiting: number;
}

export type Admission =
  | { to: 'work' }
  /** `queued` and `ahead` (the owner's fires already waiting) say why, in the execution's log. */
  | { to: 'backlog'; queued: number; ahead: number };

/**
 * Whether `fires` more fires of an owner can be decided from what is known (undefined: nothing yet), or the
 * streams must be asked first: when the owner has a backlog (the releaser may have emptied it meanwhile) or
 * these fires could reach the limit.
 */
export const needsCount = (queue: OwnerQueue | undefined, fires: number, limit: number): boolean =>
  !queue || queue.waiting > 0 || queue.queued + fires > limit;

/**
 * Decides one fire of the owner, in log order, and counts it in `queue`: it goes to the work stream while
 * the owner has fewer than `limit` items there and no earlier fire waits in its backlog (an owner's fires
 * leave the backlog in order), else to the backlog.
 */
export function admit(queue: OwnerQueue, limit: number): Admission {
  if (queue.waiting === 0 && queue.queued < limit) {
    queue.queued++;
    return { to: 'work' };
  }
  const admission: Admission = { to: 'backlog', queued: queue.queued, ahead: queue.waiting };
  queue.waiting++;
  return admission;
}

/** How many of an owner's waiting fires may move to the work stream, given its items there now. */
export const releasable = (queued: number, waiting: number, limit: number): number => Math.max(0, Math.min(waiting, limit - queued));
