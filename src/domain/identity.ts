/**
 * Ids that SDKs send by mistake (PostHog keeps a similar blocklist). Stitching on one of
 * these would merge thousands of unrelated people into one user.
 */
export const ILLEGAL_IDS: ReadonlySet<string> = new Set([
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

/** The longest user or anonymous id, in UTF-16 units. */
export const MAX_ID_LENGTH = 512;

export function isLegalId(value: string): boolean {
  return !ILLEGAL_IDS.has(value.trim().toLowerCase()) && value.length <= MAX_ID_LENGTH;
}
