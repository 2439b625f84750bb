import type { ParseArgsConfig } from 'node:util';
import type { ChronosClient } from './chronos-client.js';

export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandArgs {
  values: OptionValues;
  positionals: string[];
  client: ChronosClient;
}

/** One `chronos <group> <action>` command. */
export interface Command {
  /** How it is called, e.g. `jobs list`. */
  name: string;
  /** One line in `chronos --help`. */
  summary: string;
  /** What follows the name in usage lines, e.g. `<id> [--json]`. */
  synopsis: string;
  /** The body of `chronos <name> --help`: what it does and each option. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** The positional arguments it requires, in order. */
  positionals?: string[];
  /** Resolves to the exit code (0 when nothing is returned). */
  run(args: CommandArgs): Promise<number | void>;
}

/** The command line itself is wrong: exit 2 with usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const jsonOption = { json: { type: 'boolean' } } as const;

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function integerOption(values: OptionValues, name: string, min = 1): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return Number(text);
}

export function timeOption(values: OptionValues, name: string): string | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  if (Number.isNaN(Date.parse(text))) throw new UsageError(`--${name} must be an ISO-8601 time such as 2026-11-22T09:00:00Z, got "${text}"`);
  return new Date(text).toISOString();
}
