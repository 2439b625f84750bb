import { ExecutionFailure, type ExecutionContext, type Executor } from './executor.js';

/** A handler registered in code for `custom` jobs: gets the job's `data`, returns the execution output. */
export type CustomHandler = (data: unknown, context: ExecutionContext) => Promise<unknown>;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** The built-in handlers. Add one by adding an entry: the key is the `payload.handler` users name. */
export const builtInHandlers: Record<string, CustomHandler> = {
  noop: async () => null,
  echo: async (data) => data ?? null,
  sleep: async (data, context) => {
    const ms = Number((data as { ms?: unknown } | undefined)?.ms ?? 1000);
    await sleep(ms, context.signal);
    return { sleptMs: ms };
  },
};

export class CustomExecutor implements Executor {
  readonly type = 'custom' as const;

  constructor(private readonly handlers: Record<string, CustomHandler> = builtInHandlers) {}

  async run(context: ExecutionContext): Promise<unknown> {
    const { handler, data } = context.payload as { handler: string; data?: unknown };
    const run = this.handlers[handler];
    if (!run) throw new ExecutionFailure(`no custom handler named "${handler}"`, undefined, false);
    return run(data, context);
  }
}
