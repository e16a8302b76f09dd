/**
 * One anonymous track line from app `version`, sent at `at` (epoch ms): the building block of
 * the release-burst scenarios. Every line carries receivedAt, so results do not depend on when
 * the test ran.
 */
export function versionedLine(messageId: string, anonymousId: string, at: number, version: string, event = 'page_viewed'): string {
  return JSON.stringify({
    type: 'track',
    event,
    messageId,
    anonymousId,
    timestamp: new Date(at).toISOString(),
    sentAt: new Date(at + 100).toISOString(),
    receivedAt: new Date(at + 300).toISOString(),
    properties: {},
    context: { app: { version } },
  });
}
