/**
 * The bounded buffer between a tail's reader (Kafka fetches, Pub/Sub pulls) and whoever takes
 * from it (the terminal, a pipe). A reader never waits long for its output: when the buffer is
 * full it gives the taker one short grace per stall (ROOM_GRACE_MS) and then drops new items,
 * counting them, so a taker that keeps up loses nothing and one that does not never holds the
 * reading back.
 */
export interface TailBuffer<T> {
  /** Items dropped because the buffer was full. */
  readonly dropped: number;
  readonly size: number;
  /** Adds a kept item, or drops it (after the grace) when the buffer is full; `closed` skips the grace. */
  offer(item: T, closed: boolean): Promise<void>;
  /** Wakes a take that waits (new items, a failure, the end). */
  notify(): void;
  /** The items, oldest first, taken out; while empty, waits up to `waitMs` unless `nothingMore`. */
  take(waitMs: number, nothingMore: boolean): Promise<T[]>;
  /** Ends any wait, on either side (close). */
  release(): void;
}

/** What a tail reader (Kafka, Pub/Sub) gives the tail command. */
export interface TailReader<T> {
  /** Messages dropped because the buffer was full. */
  readonly dropped: number;
  /** Messages read from the topic (kept or not). */
  readonly read: number;
  /** Kept messages, oldest first, taken out of the buffer; waits up to `waitMs` while it is empty. */
  take(waitMs: number): Promise<T[]>;
  /** Not following, everything there was has been read, and the buffer is empty. */
  finished(): boolean;
  close(): Promise<void>;
}

const ROOM_GRACE_MS = 200;

export function createTailBuffer<T>(capacity: number): TailBuffer<T> {
  let items: T[] = [];
  let dropped = 0;
  let wake: (() => void) | null = null;
  let room: (() => void) | null = null;
  let stalled = false;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const waitForRoom = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ROOM_GRACE_MS);
      room = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  return {
    get dropped() {
      return dropped;
    },
    get size() {
      return items.length;
    },
    async offer(item, closed) {
      if (items.length >= capacity && !stalled && !closed) {
        notify();
        await waitForRoom();
        room = null;
        stalled = items.length >= capacity;
      }
      if (items.length < capacity) items.push(item);
      else dropped += 1;
    },
    notify,
    async take(waitMs, nothingMore) {
      if (items.length === 0 && !nothingMore) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const taken = items;
      items = [];
      stalled = false;
      (room as (() => void) | null)?.();
      return taken;
    },
    release() {
      notify();
      (room as (() => void) | null)?.();
    },
  };
}
