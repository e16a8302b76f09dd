/**
 * The raw store's lookup key of a message id: a 53-bit hash (cyrb53, public domain, by bryc), so
 * it is an exact SQLite INTEGER and a JS number. Dedup looks every incoming message id up, and
 * client message ids are random: an index of 8-byte keys stays cached far longer than one of
 * ~40-byte texts (figures: docs/decisions/0009). Keys are not unique —
 * every lookup also compares the message id — so a collision costs a row read, never an event.
 *
 * Stored in every data directory: changing this function needs a migration that rewrites the
 * column (message-key.test.ts pins its values).
 */
export function messageKey(messageId: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < messageId.length; i += 1) {
    const code = messageId.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
