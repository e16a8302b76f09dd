/**
 * A condition for one thread of async code: `until(ready)` resolves once `ready()` holds, and
 * re-checks it whenever someone calls `notify()` after changing the state it reads.
 *
 * No wake-up can be lost: the state is the predicate, not the signal. `until` checks `ready()`
 * and registers its waiter in the same synchronous step, so a change made (and notified) while
 * the waiter was busy elsewhere — inside some other await — is seen by the check, and a change
 * made after registration wakes it. Spurious wake-ups are harmless: the predicate is checked again.
 */
export interface Condition {
  /** Call after every change of the state some `until` predicate reads. */
  notify(): void;
  until(ready: () => boolean): Promise<void>;
}

export function createCondition(): Condition {
  let waiters: Array<() => void> = [];
  return {
    notify() {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
    async until(ready) {
      while (!ready()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
