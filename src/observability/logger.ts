import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';
import { MASK } from '../secrets/job-secrets.js';
import { logContext } from './log-context.js';

/**
 * Fields never written whatever a log call passes, at the top level or one below: a backstop. Secrets are
 * kept out by not logging payloads, headers, bodies or configuration in the first place.
 */
const NEVER_LOGGED = ['password', 'token', 'accessToken', 'refreshToken', 'authorization', 'cookie', 'secret', 'webhookSecret', 'headers', 'body', 'payload', 'spec', 'env'];
const REDACTED_PATHS = NEVER_LOGGED.flatMap((key) => [key, `*.${key}`]);

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
    let fields: Record<string, unknown> = { context };
    let msg: string | undefined;
    if (message instanceof Error) {
      fields.err = message;
      msg = message.message;
    } else if (message !== null && typeof message === 'object') {
      const { msg: text, ...rest } = message as Record<string, unknown>;
      fields = { ...fields, ...rest };
      msg = typeof text === 'string' ? text : undefined;
    } else {
      msg = String(message);
    }
    const extra = params.filter((param) => param !== undefined);
    if (extra.length > 0) fields[level === 'error' || level === 'fatal' ? 'stack' : 'params'] = extra.length === 1 ? extra[0] : extra;
    this.pino[level](fields, msg);
  }
}

/** `destination` defaults to stdout; tests pass one that collects the lines. */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): PinoLogger {
  return new PinoLogger(
    pino(
      {
        level,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        // A new object each time: pino merges the call's fields into it.
        mixin: () => ({ ...logContext() }),
        redact: { paths: REDACTED_PATHS, censor: MASK },
      },
      destination,
    ),
  );
}
