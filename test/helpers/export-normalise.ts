/**
 * An export as a user gets it, with the one thing no re-run can reproduce made comparable: a
 * rejected line with no receivedAt the pipeline could read (none, or not parseable: an array, an
 * oversized line) is dated by when it was read, so those dates after `readAfter` are blanked and
 * the lines compared in a fixed order.
 */
export function normaliseExport(kind: string, text: string, readAfter: number): string {
  if (kind !== 'rejected') return text;
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (Date.parse(String(record.received_at)) >= readAfter) record.received_at = '(read time)';
      return JSON.stringify(record);
    })
    .sort()
    .join('\n');
}
