/**
 * `promise`, or a rejection with the signal's reason as soon as `signal` aborts (timeout, cancel,
 * shutdown), for work that takes no signal of its own (DNS lookups, nodemailer). The work itself is not
 * stopped; its outcome is no longer waited for.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
