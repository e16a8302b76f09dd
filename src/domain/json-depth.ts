/**
 * The deepest nesting any event JSON may reach (pipeline.max_nesting_depth is at most this), and
 * what a reader of unvalidated JSON (a rejected line, a Kafka message) parses: every recursive
 * walk (JSON.stringify, redaction, rendering) stays far from the stack limit (~5,000 levels).
 */
export const MAX_NESTING_DEPTH_LIMIT = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether `{`/`[` outside strings nest deeper than `limit`: one pass, no recursion, no parse.
 * Malformed JSON is left to JSON.parse; only the depth is judged here.
 */
export function nestingExceeds(text: string, limit: number): boolean {
  // Fast path: a line with no more openers than the limit cannot nest deeper (indexOf is native).
  let openers = 0;
  for (const opener of ['{', '[']) {
    for (let at = text.indexOf(opener); at !== -1 && openers <= limit; at = text.indexOf(opener, at + 1)) openers += 1;
  }
  if (openers <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      if (depth > limit) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}
