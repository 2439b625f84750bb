import { integerOption, jsonOption, stringOption, timeOption, UsageError, type Command } from './command.js';
import { inline, print, printJson } from './terminal.js';

export const lifecycleReplay: Command = {
  name: 'lifecycle replay',
  summary: 're-publish lifecycle events for subscribers (original ids, marked as replays)',
  synopsis: '[--since ISO | --from-sequence N] [--job ID] [--json]',
  help: `Re-publishes lifecycle events from the event log (admins only), with their original ids and
chronosreplay: true, so that a subscriber that missed some catches up and dedupes on the id. Without
--since or --from-sequence, the whole log. Prints the replay's id; the replay runs on in the server.

Options:
  --since ISO          events from this time on
  --from-sequence N    events from this event-log sequence on
  --job ID             only this job's events
  --json               the API's answer as JSON`,
  options: { since: { type: 'string' }, 'from-sequence': { type: 'string' }, job: { type: 'string' }, ...jsonOption },
  async run({ values, client }) {
    if (values.since !== undefined && values['from-sequence'] !== undefined) throw new UsageError('give --since or --from-sequence, not both');
    const body = { since: timeOption(values, 'since'), fromSequence: integerOption(values, 'from-sequence'), jobId: stringOption(values, 'job') };
    const { replayId } = await client.post<{ replayId: string }>('/admin/lifecycle/replay', body);
    if (values.json) return printJson({ replayId });
    print(`replay ${inline(replayId)} started`);
  },
};
