import type { JourneyConfig } from '../config/config.js';
import { resourceId } from '../config/pubsub-config.js';
import { isJourneyError } from '../errors.js';
import type { CheckStatus, DoctorCheck } from './doctor-check.js';

/**
 * `doctor`'s Pub/Sub rows: reachable, the topic, the pipeline's subscription and the settings
 * migrate gives it (ack deadline, message ordering), and whether a dead-letter policy is set
 * (optional: Pub/Sub's own, ADR 0015). Each row that is not as migrate leaves it says the fix.
 */
export async function checkPubSub(config: JourneyConfig): Promise<DoctorCheck[]> {
  const row = (check: string, status: CheckStatus, detail: string, fix = ''): DoctorCheck => ({ component: 'pubsub', check, status, detail, fix });
  const pubsub = config.pubsub;
  // A project alone (GOOGLE_CLOUD_PROJECT names one on any GCP machine) is no sign of Pub/Sub: a topic or source: pubsub is.
  if (!pubsub.topic && config.streamSource !== 'pubsub') return [row('configured', 'skip', 'no Pub/Sub topic configured (needed only for source: pubsub)')];
  const { inspectPubSub } = await import('../sources/pubsub-admin.js');
  let found;
  try {
    found = await inspectPubSub(pubsub);
  } catch (error) {
    const message = isJourneyError(error) ? error.message : String(error);
    return [row('reachable', 'fail', message, isJourneyError(error) && error.hint ? error.hint : 'check PUBSUB_EMULATOR_HOST or the credentials')];
  }
  const checks = [row('reachable', 'ok', found.endpoint)];
  const topic = found.topic;
  const migrate = `journeyctl migrate --source pubsub${topic ? ` --topic ${topic.name}` : ''}${found.subscription ? ` --subscription ${found.subscription.name}` : ''}`;
  if (topic === null) checks.push(row('topic', 'skip', 'no topic configured (--topic, JOURNEY_PUBSUB_TOPIC, pubsub.topic)'));
  else checks.push(topic.exists ? row('topic', 'ok', `${topic.name} exists`) : row('topic', 'fail', `${topic.name} does not exist`, migrate));
  const subscription = found.subscription;
  if (subscription === null) {
    checks.push(
      row(
        'subscription',
        'fail',
        "no pipeline subscription configured (--subscription, JOURNEY_PUBSUB_SUBSCRIPTION, pubsub.subscription, or pubsub.project for the default 'journeyctl')",
        'set pubsub.project or pubsub.subscription',
      ),
    );
    return checks;
  }
  if (!subscription.exists) {
    checks.push(row('subscription', 'fail', `${subscription.name} (the pipeline's) does not exist`, `${migrate} (ack deadline ${pubsub.ackDeadlineSeconds} s, message ordering)`));
    return checks;
  }
  if (topic !== null && subscription.topic !== topic.name) {
    checks.push(
      row(
        'subscription',
        'fail',
        `${subscription.name} is on topic ${subscription.topic}, not ${topic.name}`,
        'name the subscription of this topic (--subscription, pubsub.subscription) or its topic (--topic)',
      ),
    );
    return checks;
  }
  checks.push(row('subscription', 'ok', `${subscription.name} on ${subscription.topic}`));
  checks.push(
    subscription.ackDeadlineSeconds === pubsub.ackDeadlineSeconds
      ? row('ack deadline', 'ok', `${subscription.ackDeadlineSeconds} s (pubsub.ack_deadline)`)
      : row('ack deadline', 'fail', `${subscription.ackDeadlineSeconds} s, the config says ${pubsub.ackDeadlineSeconds} s (pubsub.ack_deadline; ADR 0015)`, `${migrate} (updates it)`),
  );
  checks.push(
    subscription.ordering
      ? row('message ordering', 'ok', 'on: one visitor’s events arrive in publish order (produce keys them by anonymousId/userId)')
      : row(
          'message ordering',
          'ok',
          'off: a visitor’s events may arrive out of order (the stored result is the same; sessions are re-derived more often)',
          `Pub/Sub cannot turn it on later: create another subscription with ${migrate.replace(` --subscription ${subscription.name}`, '')} --subscription NEW, point run at it, then delete ${resourceId(subscription.name)}`,
        ),
  );
  checks.push(
    subscription.deadLetter
      ? row(
          'dead-letter policy',
          'ok',
          `${subscription.deadLetter.topic} after ${subscription.deadLetter.maxDeliveryAttempts} delivery attempts`,
          `a message there was refused by the stores ${subscription.deadLetter.maxDeliveryAttempts} times: journeyctl tail --source pubsub --topic ${subscription.deadLetter.topic}`,
        )
      : row(
          'dead-letter policy',
          'ok',
          'none: a message the stores cannot take is delivered again until they can (journeyctl never drops one; unparseable lines are stored as rejected)',
          `optional: gcloud pubsub subscriptions update ${subscription.name} --dead-letter-topic=${topic ? `${topic.name}-dead-letter` : 'TOPIC'} --max-delivery-attempts=10`,
        ),
  );
  return checks;
}
