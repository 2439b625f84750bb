import { ExecutionFailure, type ExecutionContext, type Executor } from './executor.js';
import { abortable } from './abortable.js';

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

/** The built-in handlers (`payload.handler` names them): always registered. */
export const builtInHandlers: Readonly<Record<string, CustomHandler>> = Object.freeze({
  noop: async () => null,
  echo: async (data) => data ?? null,
  sleep: async (data, context) => {
    const ms = Number((data as { ms?: unknown } | undefined)?.ms ?? 1000);
    await sleep(ms, context.signal);
    return { sleptMs: ms };
  },
});

/** The registry of `custom` handlers: the built-ins plus what `registerHandler` added. */
const registry = new Map<string, CustomHandler>(Object.entries(builtInHandlers));

const HANDLER_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * Registers a `custom` job handler under `name` (what jobs put in `payload.handler`).
 *
 * Call it at start-up, before `startChronos`, in every process that runs the `api` role (submit-time
 * validation: an unknown handler is 422 VALIDATION_FAILED on `payload.handler`) and the `worker` role (runs
 * it). The handler gets the job's `payload.data` (unvalidated: check it yourself and throw
 * `new ExecutionFailure(message, output, false)` for input that can never work) and the execution
 * context: honour `context.signal` (aborted on timeout or cancellation; reject with `signal.reason`) and
 * write progress with `context.log`. Its resolved value becomes the execution's `output`, as `recordableValue`
 * (recordable.ts) makes it: JSON, strings well-formed, a Buffer as text or base64, a BigInt as a string, a cycle
 * "[circular]", at most 64 KiB (else `{ truncated, limitBytes, preview }`); undefined records no output. Whatever
 * it returns or throws is recorded, never a crash.
 *
 * Names: a letter then up to 63 letters, digits, `_`, `.` or `-`. Registering a name twice throws.
 */
export function registerHandler(name: string, handler: CustomHandler): void {
  if (!HANDLER_NAME.test(name)) throw new Error(`custom handler name "${name}" is invalid: a letter, then up to 63 letters, digits, "_", "." or "-"`);
  if (typeof handler !== 'function') throw new TypeError(`custom handler "${name}" must be a function`);
  if (registry.has(name)) throw new Error(`a custom handler named "${name}" is already registered`);
  registry.set(name, handler);
}

/** The names of the registered handlers, built-ins first. */
export function handlerNames(): string[] {
  return [...registry.keys()];
}

/** Whether `name` is a registered handler. */
export function hasHandler(name: unknown): boolean {
  return typeof name === 'string' && registry.has(name);
}

/** Runs the handler the job names. Looked up at run time, so handlers registered after construction count. */
export class CustomExecutor implements Executor {
  readonly type = 'custom' as const;

  /** `handlers`: a fixed set instead of the registry (tests). */
  constructor(private readonly handlers?: Readonly<Record<string, CustomHandler>>) {}

  async run(context: ExecutionContext): Promise<unknown> {
    const { handler, data } = context.payload as { handler: string; data?: unknown };
    const run = this.handlers ? (Object.hasOwn(this.handlers, handler) ? this.handlers[handler] : undefined) : registry.get(handler);
    if (!run) throw new ExecutionFailure(`no custom handler named "${handler}"`, undefined, false);
    // A handler that ignores the signal (or throws before returning a promise) still ends the run on time.
    return abortable(Promise.resolve().then(() => run(data, context)), context.signal);
  }
}
