/**
 * Why the range updater runs: its schedule (an EventBridge "Scheduled Event"), or AWS's change
 * notification on the SNS topic `arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged`, whose message
 * announces the new syncToken (and the feed's URL and MD5, which we do not use: the URL we fetch is our
 * own configuration, and the checks after parsing are stronger than an MD5 sent beside the file).
 *
 * Notifications may arrive late, twice or out of order, so the announced token is only used to tell a
 * stale copy of the feed from "nothing new".
 */
import { isSyncToken } from './version';

export type Trigger = { kind: 'schedule' } | { kind: 'notification'; syncToken?: string; topic: string } | { kind: 'manual' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function triggerOf(event: unknown): Trigger {
  if (!isObject(event)) return { kind: 'manual' };
  if (event.source === 'aws.events' || event['detail-type'] === 'Scheduled Event') return { kind: 'schedule' };
  const record = Array.isArray(event.Records) ? event.Records[0] : undefined;
  const sns = isObject(record) && isObject(record.Sns) ? record.Sns : undefined;
  if (!sns) return { kind: 'manual' };
  const topic = typeof sns.TopicArn === 'string' ? sns.TopicArn : 'unknown';
  let message: unknown;
  try {
    message = JSON.parse(String(sns.Message));
  } catch {
    return { kind: 'notification', topic };
  }
  const token = isObject(message) ? message.synctoken : undefined;
  return isSyncToken(token) ? { kind: 'notification', syncToken: token, topic } : { kind: 'notification', topic };
}
