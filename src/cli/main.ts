#!/usr/bin/env node
/**
 * `chronos`: the operators' command line. It talks to a running Chronos over its REST API only, so it works
 * remotely, with the caller's rights, and never around the API. Exit codes: 0 success, 1 failure, 2 usage.
 */
import { parseArgs } from 'node:util';
import { ChronosClient, ProblemError, UnreachableError, type Connection } from './chronos-client.js';
import { stringOption, UsageError, type Command, type OptionValues } from './command.js';
import { eventsTail } from './events-tail.command.js';
import { executionsShow } from './executions.command.js';
import { jobsList, jobsShow } from './jobs.command.js';
import { jobsCreate } from './jobs-create.command.js';
import { lifecycleReplay } from './lifecycle.command.js';
import { projectionsList, projectionsRebuild } from './projections.command.js';
import { inline, print, printError } from './terminal.js';

const COMMANDS: Command[] = [jobsList, jobsShow, jobsCreate, executionsShow, eventsTail, projectionsList, projectionsRebuild, lifecycleReplay];
const DEFAULT_URL = 'http://127.0.0.1:3000';
const CONNECTION_OPTIONS = { url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

const CONNECTION_HELP = `Connection (every command):
  --url URL       where Chronos is [$CHRONOS_URL, ${DEFAULT_URL}]
  --token TOKEN   a bearer access token [$CHRONOS_TOKEN]; or set CHRONOS_EMAIL and CHRONOS_PASSWORD to log in
  -h, --help      this help

Exit codes: 0 success, 1 failure (an error from Chronos is printed as "error CODE: detail"), 2 usage.`;

const usageLine = (command: Command) => `${command.name} ${command.synopsis}`;

function commandList(commands: Command[]): string {
  return `Usage: chronos <command> [options]\n\nCommands:\n${commands.map((command) => `  ${usageLine(command)}\n      ${command.summary}`).join('\n')}`;
}

const commandHelp = (command: Command) => `Usage: chronos ${usageLine(command)}\n\n${command.help}\n\n${CONNECTION_HELP}`;

/** The command's two words, wherever the connection options are: `chronos --url X jobs list --json`. */
function splitCommandWords(argv: string[]): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (words.length < 2 && !arg.startsWith('-')) words.push(arg);
    else if (words.length < 2 && (arg === '--url' || arg === '--token') && i + 1 < argv.length) rest.push(arg, argv[++i]!);
    else rest.push(arg);
  }
  return { words, rest };
}

function connectionOf(values: OptionValues, env: NodeJS.ProcessEnv): Connection {
  const url = (stringOption(values, 'url') || env.CHRONOS_URL || DEFAULT_URL).replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`--url must be an http(s) URL such as ${DEFAULT_URL}, got "${url}"`);
  const token = stringOption(values, 'token') || env.CHRONOS_TOKEN || undefined;
  const { CHRONOS_EMAIL: email, CHRONOS_PASSWORD: password } = env;
  if (!token && !(email && password)) throw new UsageError('no credentials: pass --token (or set CHRONOS_TOKEN), or set CHRONOS_EMAIL and CHRONOS_PASSWORD');
  return token ? { url, token } : { url, email, password };
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { words, rest } = splitCommandWords(argv);
  const wantsHelp = rest.includes('--help') || rest.includes('-h') || words[0] === 'help';
  const command = COMMANDS.find((candidate) => candidate.name === words.join(' '));
  if (!command) {
    const group = COMMANDS.filter((candidate) => candidate.name.startsWith(`${words[0]} `));
    if (wantsHelp && words.length <= 1) return printHelp(`${commandList(group.length > 0 ? group : COMMANDS)}\n\n${CONNECTION_HELP}`);
    const unknown = words.length === 0 ? 'no command given' : group.length > 0 && words.length === 1 ? `"${words[0]}" needs a command` : `unknown command "${words.join(' ')}"`;
    return usageFailure(unknown, `${commandList(group.length > 0 ? group : COMMANDS)}\n\nRun "chronos --help" for details.`);
  }
  if (wantsHelp) return printHelp(commandHelp(command));
  try {
    const { values, positionals } = parseArgs({ args: rest, options: { ...CONNECTION_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    const required = command.positionals ?? [];
    if (positionals.length < required.length) throw new UsageError(`missing <${required[positionals.length]}>`);
    if (positionals.length > required.length) throw new UsageError(`unexpected argument "${positionals[required.length]}"`);
    const client = new ChronosClient(connectionOf(values, env));
    return (await command.run({ values, positionals, client })) ?? 0;
  } catch (error) {
    const parseError = typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS');
    if (error instanceof UsageError || parseError) return usageFailure((error as Error).message, `Usage: chronos ${usageLine(command)}\nRun "chronos ${command.name} --help" for details.`);
    throw error;
  }
}

function printHelp(text: string): number {
  print(text);
  return 0;
}

function usageFailure(message: string, usage: string): number {
  printError(`error: ${message}\n\n${usage}`);
  return 2;
}

/** One line, never a stack: what Chronos answered, or why it could not be reached. */
function reportFailure(error: unknown): number {
  if (error instanceof ProblemError) printError(`error ${inline(error.code)}: ${inline(error.message)}`);
  else if (error instanceof UnreachableError) printError(`error: ${inline(error.message)}`);
  else printError(`error: ${inline((error as Error)?.message ?? String(error))}`);
  return 1;
}

main(process.argv.slice(2), process.env).then(
  (code) => (process.exitCode = code),
  (error: unknown) => (process.exitCode = reportFailure(error)),
);
