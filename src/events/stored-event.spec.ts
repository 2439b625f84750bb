import { asJobEvent, decodeEventMessage, NotAnEventMessageError, type StoredEvent } from './stored-event.js';
import { decodeLogEntries, decodeNotificationItem, decodeWorkItem, MalformedMessageError } from './messages.js';

const stored = (fields: Partial<StoredEvent>): StoredEvent => ({
  sequence: 7,
  index: 0,
  id: 'e-1',
  type: 'JobPaused',
  aggregateType: 'job',
  aggregateId: 'job-1',
  version: 1,
  occurredAt: '2026-11-22T09:00:00.000Z',
  actor: 'user:u-1',
  causationId: 'c-1',
  correlationId: 'r-1',
  data: { jobId: 'job-1', pausedAt: '2026-11-22T09:00:00.000Z' },
  ...fields,
});

describe('the way from a stored event to a job event', () => {
  it('is the stored event itself, typed, for a job event this code knows', () => {
    const event = stored({});
    const jobEvent = asJobEvent(event);
    expect(jobEvent).toBe(event);
    expect(jobEvent?.type === 'JobPaused' && jobEvent.data.pausedAt).toBe('2026-11-22T09:00:00.000Z');
  });

  it('passes by what it does not know: another aggregate, a type or a version of a newer writer, data that names no job', () => {
    expect(asJobEvent(stored({ aggregateType: 'user' }))).toBeUndefined();
    expect(asJobEvent(stored({ type: 'JobTeleported' }))).toBeUndefined();
    expect(asJobEvent(stored({ type: 'toString' }))).toBeUndefined();
    expect(asJobEvent(stored({ version: 2 }))).toBeUndefined();
    for (const data of [null, 'text', [1], { pausedAt: 'x' }, { jobId: 42 }]) expect(asJobEvent(stored({ data }))).toBeUndefined();
  });

  it('decodes an event-log message into its events, and refuses anything else', () => {
    const events = decodeEventMessage(9, {
      aggregateType: 'job',
      aggregateId: 'job-1',
      commandId: 'cmd-1',
      actor: 'user:u-1',
      correlationId: 'r-1',
      occurredAt: '2026-11-22T09:00:00.000Z',
      events: [
        { id: 'a', type: 'JobPaused', version: 1, data: { jobId: 'job-1' } },
        { id: 'b', type: 'JobResumed', version: 1, data: { jobId: 'job-1' } },
      ],
    });
    expect(events.map((event) => [event.sequence, event.index, event.id, event.causationId])).toEqual([
      [9, 0, 'a', 'cmd-1'],
      [9, 1, 'b', 'cmd-1'],
    ]);
    for (const body of [null, 'x', {}, { aggregateType: 'job', aggregateId: 'j', events: 'no' }]) {
      expect(() => decodeEventMessage(1, body)).toThrow(NotAnEventMessageError);
    }
  });
});

describe('the messages of the catalogue', () => {
  it('are decoded when they carry what their consumers act on, and refused as malformed otherwise', () => {
    const item = { jobId: 'j', executionId: 'x', scheduledAt: '2026-11-22T09:00:00.000Z', attempt: 1, firedSequence: 3, correlationId: 'c', causationId: 'e' };
    expect(decodeWorkItem(item)).toBe(item);
    for (const bad of [null, [], 'work', { ...item, attempt: '1' }, { ...item, jobId: undefined }]) expect(() => decodeWorkItem(bad)).toThrow(MalformedMessageError);
    expect(() => decodeNotificationItem({ notificationId: 'n' })).toThrow(MalformedMessageError);
    expect(decodeLogEntries([])).toEqual([]);
    expect(() => decodeLogEntries({ entries: [] })).toThrow(MalformedMessageError);
  });
});
