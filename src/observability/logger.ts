import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { MASK } from '../secrets/job-secrets.js';
import { logContext } from './log-context.js';

/**
 * Fields never written whatever a log call passes, at the top level or one below: a backstop. Secrets are
 * kept out by not logging payloads, headers, bodies or configuration in the first place.
 */
const NEVER_LOGGED = new Set(['password', 'token', 'accessToken', 'refreshToken', 'authorization', 'cookie', 'secret', 'webhookSecret', 'headers', 'body', 'payload', 'spec', 'env']);

/**
 * The line's fields with NEVER_LOGGED ones masked, at the top level and one below; copied only where one is
 * found. (pino's `redact` with `*.field` paths does the same at 35 µs a line, most of a request's log line.)
 */
function masked(fields: Record<string, unknown>): Record<string, unknown> {
  let result = fields;
  for (const key in fields) {
    const value = fields[key];
    let replacement: unknown = value;
    if (NEVER_LOGGED.has(key)) replacement = MASK;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const inner in value) {
        if (!NEVER_LOGGED.has(inner)) continue;
        if (replacement === value) replacement = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as object, value);
        (replacement as Record<string, unknown>)[inner] = MASK;
      }
    }
    if (replacement === value) continue;
    if (result === fields) result = { ...fields };
    result[key] = replacement;
  }
  return result;
}

/**
 * The application logger of every role: pino, one JSON line per entry on stdout (`level`, `time`, `msg`,
 * `context` = the Nest logger's context, and the ids of the current log context). Nest's `Logger` (every
 * `new Logger(Context)`) writes through it once the app is created with it.
 */
export class PinoLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /**
   * Nest passes `(message, ...params, context)`: the context last when the logger has one, and for errors a
   * stack before it. An object message is the line's fields (its `msg` the message); an Error is `err`.
   */
  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    let fields: Record<string, unknown>;
    if (message instanceof Error) fields = { context, msg: message.message, err: message };
    else if (message !== null && typeof message === 'object') {
      // Copied as it is (an object rest pattern costs several µs a line); a `msg` that is no text is left out.
      fields = Object.assign({ context }, message);
      if (typeof fields.msg !== 'string') fields.msg = undefined;
    } else fields = { context, msg: String(message) };
    if (params.length > 0) {
      const extra = params.filter((param) => param !== undefined);
      if (extra.length > 0) fields[level === 'error' || level === 'fatal' ? 'stack' : 'params'] = extra.length === 1 ? extra[0] : extra;
    }
    this.pino[level](fields);
  }
}

/**
 * The same entries made for eyes, one line each: time, level, `[context] msg`, the other fields. Formatted
 * in this thread, not in a transport's worker.
 */
const readableStdout = (): DestinationStream =>
  PinoPretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,context', messageFormat: '{if context}[{context}] {end}{msg}' });

/**
 * `destination` defaults to stdout: JSON lines, or readable ones when stdout is a terminal (`npm run up`'s);
 * tests pass one that collects the lines.
 */
export function createLogger(level: LevelWithSilent, destination: DestinationStream | undefined = process.stdout.isTTY ? readableStdout() : undefined): PinoLogger {
  return new PinoLogger(
    pino(
      {
        level,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }), log: masked },
        // A new object each time: pino merges the call's fields into it.
        mixin: () => ({ ...logContext() }),
      },
      destination,
    ),
  );
}
