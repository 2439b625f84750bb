import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The log positions (stream sequences of CHRONOS_EVENTS) that the commands of one HTTP request reached, so
 * that the request can wait for the read models to pass them before it answers (read-your-writes,
 * src/http/read-your-writes/). Carried by AsyncLocalStorage: the command handler reports its position
 * without every route passing it on by hand.
 */
export class WritePositions {
  /** The highest position reached; 0 while nothing was written. */
  highest = 0;

  note(position: number): void {
    if (position > this.highest) this.highest = position;
  }
}

const storage = new AsyncLocalStorage<WritePositions>();

/** Runs `fn` with `positions` collecting what its commands write. */
export function trackWritePositions<T>(positions: WritePositions, fn: () => T): T {
  return storage.run(positions, fn);
}

/** Reports a command's position to the request it runs for; outside one (scheduler, workers, sagas) it does nothing. */
export function noteWritePosition(position: number): void {
  storage.getStore()?.note(position);
}
