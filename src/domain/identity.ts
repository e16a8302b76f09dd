/**
 * Ids that SDKs send by mistake (PostHog keeps a similar blocklist). Stitching on one of
 * these would merge thousands of unrelated people into one user.
 */
const ILLEGAL_IDS = new Set([
  '',
  'anonymous',
  'guest',
  'distinctid',
  'distinct_id',
  'id',
  'not_authenticated',
  'email',
  'undefined',
  'null',
  'none',
  'nil',
  'nan',
  'true',
  'false',
  '0',
  '-1',
  '[object object]',
]);

export function isLegalId(value: string): boolean {
  return !ILLEGAL_IDS.has(value.trim().toLowerCase()) && value.length <= 512;
}
