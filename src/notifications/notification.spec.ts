import { notificationIdFor } from '../commands/ids.js';
import type { NotificationItem } from '../events/messages.js';
import { channelsFor, emailContent, webhookBody, webhookSecretOf } from './notification.js';

describe('notifications', () => {
  const failure: NotificationItem = {
    notificationId: 'n-1',
    jobId: 'job-1',
    eventSequence: 7,
    channel: 'email',
    trigger: 'failure',
    executionId: 'exec-1',
    scheduledAt: '2026-11-22T09:00:00.000Z',
    attempts: 3,
    error: 'timed out after 100 ms',
    deadLetterId: 'dl-1',
    occurredAt: '2026-11-22T09:00:05.000Z',
  };

  it('names a notification deterministically, UUID-shaped, distinct per channel and trigger', () => {
    const id = notificationIdFor('job-1', 'dl-1', 'email', 'failure');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(notificationIdFor('job-1', 'dl-1', 'email', 'failure')).toBe(id);
    expect(new Set([id, notificationIdFor('job-1', 'dl-1', 'webhook', 'failure'), notificationIdFor('job-1', 'dl-1', 'email', 'success'), notificationIdFor('job-2', 'dl-1', 'email', 'failure'), notificationIdFor('job-1', 'dl-2', 'email', 'failure')]).size).toBe(5);
  });

  it('picks the channels from the settings, with onFailure true and onSuccess false by default', () => {
    expect(channelsFor(undefined, 'failure')).toEqual(['email']);
    expect(channelsFor(undefined, 'success')).toEqual([]);
    expect(channelsFor({ onFailure: false }, 'failure')).toEqual([]);
    expect(channelsFor({ onSuccess: true, webhookUrl: 'https://x.test/h' }, 'success')).toEqual(['email', 'webhook']);
    expect(channelsFor({ onFailure: true, onSuccess: false, webhookUrl: 'https://x.test/h' }, 'failure')).toEqual(['email', 'webhook']);
  });

  it('reads webhookSecret defensively', () => {
    expect(webhookSecretOf({ onFailure: true, onSuccess: false })).toBeUndefined();
    expect(webhookSecretOf({ onFailure: true, onSuccess: false, webhookSecret: 's3' } as never)).toBe('s3');
    expect(webhookSecretOf({ onFailure: true, onSuccess: false, webhookSecret: 42 } as never)).toBeUndefined();
  });

  it('builds the webhook body', () => {
    expect(webhookBody(failure, 'Nightly')).toEqual({
      type: 'chronos.notification',
      id: 'n-1',
      trigger: 'failure',
      job: { id: 'job-1', name: 'Nightly' },
      execution: { id: 'exec-1', scheduledAt: '2026-11-22T09:00:00.000Z', attempts: 3, error: 'timed out after 100 ms' },
      deadLetterId: 'dl-1',
      occurredAt: '2026-11-22T09:00:05.000Z',
    });
    const success = webhookBody({ ...failure, trigger: 'success', attempts: 1, error: undefined, deadLetterId: undefined } as unknown as NotificationItem, 'N');
    expect(success).not.toHaveProperty('deadLetterId');
    expect(success.execution).toEqual({ id: 'exec-1', scheduledAt: '2026-11-22T09:00:00.000Z', attempts: 1 });
  });

  it('writes a clear email, with no line break in the subject', () => {
    const { subject, text } = emailContent(failure, 'Nightly\r\nBcc: x@evil.test');
    expect(subject).toBe('[Chronos] Nightly Bcc: x@evil.test failed');
    expect(text).toContain('Execution:    exec-1');
    expect(text).toContain('Error:        timed out after 100 ms');
    expect(text).toContain('after 3 attempts');
    expect(emailContent({ ...failure, trigger: 'success' }, 'Nightly').subject).toBe('[Chronos] Nightly succeeded');
  });
});
