import { readFile } from 'node:fs/promises';
import type { JobDto, ProblemDto } from '../http/dto/responses.dto.js';
import { stringOption, UsageError, type Command } from './command.js';
import { progressBar } from './rebuild-progress.js';
import { inline, print, printError, printJson, redrawLine } from './terminal.js';

/** Bodies per POST /jobs/batch: the most the API takes in one. */
const BATCH_SIZE = 1000;

type BatchItem = JobDto | ProblemDto;
const isProblem = (item: BatchItem): item is ProblemDto => typeof (item as ProblemDto).code === 'string';

/**
 * The job bodies of a file: a JSON array, or NDJSON (one body per line, blank lines skipped). Each body is
 * numbered by where it is in the file (its line for NDJSON, its position for an array), for the report.
 */
export function jobBodiesOf(text: string, file: string): Array<{ at: string; body: unknown }> {
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new UsageError(`${file} must hold a JSON array of job bodies, or one body per line`);
    return parsed.map((body, index) => ({ at: `item ${index + 1}`, body }));
  }
  const bodies: Array<{ at: string; body: unknown }> = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      bodies.push({ at: `line ${index + 1}`, body: JSON.parse(line) });
    } catch (error) {
      throw new UsageError(`${file} line ${index + 1} is not valid JSON: ${(error as Error).message}`);
    }
  });
  return bodies;
}

/** What a refused body gets in the report: where it is, the problem's code and detail, each field named. */
export function refusalLine(at: string, problem: ProblemDto): string {
  const fields = (problem.errors ?? []).map((error) => `${error.field}: ${error.message}`);
  return `${at}: ${inline(problem.code)} ${inline(fields.length ? fields.join('; ') : problem.detail)}`;
}

export const jobsCreate: Command = {
  name: 'jobs create',
  summary: 'create the jobs of a file (a JSON array or one body per line), 1,000 per request',
  synopsis: '-f <file> [--json]',
  help: `Creates every job body of a file: a JSON array of bodies (as POST /api/v1/jobs takes), or NDJSON, one
body per line. Bodies go 1,000 per POST /api/v1/jobs/batch; each is created or refused on its own. A progress
bar shows on a terminal. Prints each refused body (where it is in the file, the problem's code and fields) and
a summary; exits 1 when any body was refused, 0 when all were created.

Options:
  -f, --file F   the file of job bodies ("-" reads standard input)
  --json         one line per body, in order: the created job or the problem, as the API answered`,
  options: { file: { type: 'string', short: 'f' }, json: { type: 'boolean' } },
  async run({ values, client }) {
    const file = stringOption(values, 'file');
    if (file === undefined) throw new UsageError('-f <file> is required');
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${error.code ?? error.message}`);
    });
    const bodies = jobBodiesOf(text, file);
    if (bodies.length === 0) throw new UsageError(`${file} holds no job bodies`);
    const progress = new Progress(bodies.length);
    const refused: string[] = [];
    let created = 0;
    for (let start = 0; start < bodies.length; start += BATCH_SIZE) {
      const chunk = bodies.slice(start, start + BATCH_SIZE);
      const { items } = await client.post<{ items: BatchItem[] }>('/jobs/batch', { jobs: chunk.map((entry) => entry.body) });
      items.forEach((item, index) => {
        if (values.json) print(JSON.stringify(item));
        if (isProblem(item)) refused.push(refusalLine(chunk[index]!.at, item));
        else created++;
      });
      progress.show(start + chunk.length);
    }
    progress.done();
    if (!values.json) {
      for (const line of refused) printError(line);
      print(`created ${created.toLocaleString('en-US')} of ${bodies.length.toLocaleString('en-US')} jobs${refused.length ? `; ${refused.length.toLocaleString('en-US')} refused` : ''}`);
    }
    return refused.length > 0 ? 1 : 0;
  },
};

/** The bar on stderr while bodies go out, on a terminal only (pipes and logs get the summary alone). */
class Progress {
  private readonly out = process.stderr;

  constructor(private readonly total: number) {}

  show(sent: number): void {
    if (!this.out.isTTY) return;
    const percent = (100 * sent) / this.total;
    redrawLine(this.out, `jobs ${progressBar(percent, 20)} ${percent.toFixed(1).padStart(5)}%  ${sent.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')}`);
  }

  /** Leaves the cursor on a fresh line for whatever is printed next. */
  done(): void {
    if (this.out.isTTY) printError('');
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
