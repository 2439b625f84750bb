import { ProblemError, type ChronosClient } from './chronos-client.js';
import { jsonOption, type Command } from './command.js';
import { etaSecondsOf, percentOf, rebuildStateOf, renderProgressLine, type ProjectionStatus, type RebuildProgress, type RebuildState } from './rebuild-progress.js';
import { renderTable, truncate } from './table.js';
import { inline, print, printError, printJson, redrawLine } from './terminal.js';
import { formatDuration, formatTime, sleep } from './time.js';

const POLL_MS = 500;
/** Without a TTY (a log, a pipe), one progress line this often. */
const PLAIN_LINE_EVERY_MS = 5_000;
/** How long a rebuild may look ended without its outcome before the CLI gives up on it. */
const OUTCOME_GRACE_MS = 5_000;

export const projectionsList: Command = {
  name: 'projections list',
  summary: 'the read models: position in the event log, lag, rebuild status',
  synopsis: '[--json]',
  help: `Lists the read models (admins only): how far each is in the event log, how many events it has still
to apply, whether it is being rebuilt (and how far), and how its last rebuild ended.

Options:
  --json   the API's answer as JSON`,
  options: jsonOption,
  async run({ values, client }) {
    const projections = await client.get<ProjectionStatus[]>('/admin/projections');
    if (values.json) return printJson(projections);
    print(renderProjectionTable(projections));
  },
};

export const projectionsRebuild: Command = {
  name: 'projections rebuild',
  summary: 'rebuild a read model from the event log, with progress and ETA',
  synopsis: '<name>',
  help: `Rebuilds a read model (admins only) from the first event of the log into a fresh table, which
replaces the old one once caught up; reads keep working throughout. Shows a progress bar with events/s
and ETA (a line every few seconds when not on a terminal) until the read model is live again.
Exits 0 when the rebuild succeeded, 1 when it failed. Ctrl-C stops watching, not the rebuild.`,
  options: {},
  positionals: ['name'],
  async run({ positionals: [name], client }) {
    const accepted = await client.post<{ progress: RebuildProgress }>(`/admin/projections/${encodeURIComponent(name!)}/rebuild`);
    const rebuildId = accepted.progress.rebuildId;
    const display = new ProgressDisplay(name!, process.stderr);
    display.update(accepted.progress);
    let state: RebuildState;
    try {
      state = await watchRebuild(client, name!, rebuildId, (progress) => display.update(progress));
    } catch (error) {
      display.end();
      printError(`the rebuild ${inline(rebuildId)} may still be running: see chronos projections list`);
      throw error;
    }
    display.end();
    switch (state.state) {
      case 'succeeded': {
        const { startedAt, finishedAt } = state.outcome;
        print(`rebuilt ${name} in ${formatDuration((Date.parse(finishedAt) - Date.parse(startedAt)) / 1000)} (rebuild ${inline(rebuildId)})`);
        return 0;
      }
      case 'failed':
        printError(`error REBUILD_FAILED: the rebuild of ${name} failed: ${inline(state.error)}`);
        return 1;
      default:
        printError(`error REBUILD_OUTCOME_UNKNOWN: the rebuild ${inline(rebuildId)} of ${name} is no longer running and reported no outcome`);
        return 1;
    }
  },
};

/** Polls until rebuild `rebuildId` has ended (or looks ended without an outcome for a while), passing progress on. */
async function watchRebuild(client: ChronosClient, name: string, rebuildId: string, onProgress: (progress: RebuildProgress) => void): Promise<Exclude<RebuildState, { state: 'running' }>> {
  let endedWithoutOutcomeAt: number | undefined;
  for (;;) {
    let projections: ProjectionStatus[];
    try {
      await sleep(POLL_MS);
      projections = await client.get<ProjectionStatus[]>('/admin/projections');
    } catch (error) {
      if (!(error instanceof ProblemError && error.status === 429)) throw error;
      await sleep((error.retryAfterSeconds ?? 1) * 1000); // rate limited: the rebuild goes on, we look less often
      continue;
    }
    const state = rebuildStateOf(projections.find((projection) => projection.name === name), rebuildId);
    if (state.state === 'succeeded' || state.state === 'failed') return state;
    if (state.state === 'running') {
      endedWithoutOutcomeAt = undefined;
      if (state.progress) onProgress(state.progress);
      continue;
    }
    endedWithoutOutcomeAt ??= Date.now();
    if (Date.now() - endedWithoutOutcomeAt > OUTCOME_GRACE_MS) return state;
  }
}

/** The progress line: redrawn in place on a terminal, printed every few seconds elsewhere. */
class ProgressDisplay {
  private lastPlainLineAt = -Infinity;
  private drawn = false;

  constructor(
    private readonly name: string,
    private readonly out: NodeJS.WriteStream,
  ) {}

  update(progress: RebuildProgress): void {
    if (this.out.isTTY) {
      // Cut to the terminal's width: a line that wraps can no longer be redrawn in place.
      redrawLine(this.out, renderProgressLine(this.name, progress, 'tty').slice(0, (this.out.columns || 80) - 1));
      this.drawn = true;
    } else if (Date.now() - this.lastPlainLineAt >= PLAIN_LINE_EVERY_MS) {
      printError(renderProgressLine(this.name, progress, 'plain'));
      this.lastPlainLineAt = Date.now();
    }
  }

  /** Leaves the cursor on a fresh line for whatever is printed next. */
  end(): void {
    if (this.drawn) printError('');
    this.drawn = false;
  }
}

function renderProjectionTable(projections: ProjectionStatus[]): string {
  return renderTable(
    ['NAME', 'STATUS', 'POSITION', 'LAG', 'PROGRESS', 'LAST REBUILD'],
    projections.map((projection) => [projection.name, projection.status, String(projection.position), String(projection.lagEvents), progressCell(projection.progress), lastRebuildCell(projection)]),
  );
}

function progressCell(progress: RebuildProgress | undefined): string {
  if (!progress) return '-';
  const eta = etaSecondsOf(progress);
  return `${percentOf(progress).toFixed(1)}%${eta === null ? '' : `, ETA ${formatDuration(eta)}`}`;
}

function lastRebuildCell({ lastRebuild }: ProjectionStatus): string {
  if (!lastRebuild) return '-';
  const ended = `${lastRebuild.status} ${formatTime(lastRebuild.finishedAt)}`;
  return lastRebuild.error ? `${ended}: ${truncate(lastRebuild.error, 60)}` : ended;
}
