/**
 * The message keys of a bulk load, held in memory so dedup needs no message-key index while the
 * load runs (ADR 0028): the load is the store's only content, so a message id stored before can
 * only be a row this load inserted. Open addressing over typed arrays: each slot holds a rowid
 * (0: empty), and a rowid's key sits in `keyOf[rowid]`. ~16 bytes per row at most (half-full
 * slots of 4 bytes, 8-byte keys); a JS Map of the same keys costs several times that.
 *
 * Keys are not unique (a 53-bit hash): candidates() gives every rowid stored under a key, and the
 * caller compares the message id. A rowid whose insert was rolled back stays behind; its row is
 * gone or another message's, and the caller's comparison rejects it.
 */
export class BulkLoadKeys {
  private slots = new Uint32Array(1 << 16);
  private keyOf = new Float64Array(1 << 15);
  private filled = 0;

  /** How many rows were noted. */
  get size(): number {
    return this.filled;
  }

  /** Rowids stored under `key`, in insert order; the shared empty array on a miss (most calls). */
  candidates(key: number): readonly number[] {
    const mask = this.slots.length - 1;
    let found: number[] | undefined;
    for (let slot = (key >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const rowid = this.slots[slot]!;
      if (rowid === 0) return found ?? NONE;
      if (this.keyOf[rowid] === key) (found ??= []).push(rowid);
    }
  }

  /** Notes that the row at `rowid` (≥ 1, from a fresh table) holds a message with this key. */
  add(key: number, rowid: number): void {
    if (!Number.isInteger(rowid) || rowid < 1 || rowid > 0xffffffff) throw new RangeError(`bulk-load rowid out of range: ${rowid}`);
    if (rowid >= this.keyOf.length) {
      let length = this.keyOf.length;
      while (rowid >= length) length *= 2;
      const grown = new Float64Array(length);
      grown.set(this.keyOf);
      this.keyOf = grown;
    }
    this.keyOf[rowid] = key;
    if ((this.filled + 1) * 2 > this.slots.length) this.grow();
    this.place(rowid);
    this.filled += 1;
  }

  private place(rowid: number): void {
    const mask = this.slots.length - 1;
    let slot = (this.keyOf[rowid]! >>> 0) & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = rowid;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (const rowid of old) if (rowid !== 0) this.place(rowid);
  }
}

const NONE: readonly number[] = Object.freeze([]);
