/**
 * Runs async tasks one at a time per key. Two calls for one visitor must not interleave their
 * profile get/put, or one call's counts would overwrite the other's; two runs for one
 * server-to-server partner must not compose overlapping messages.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(key, tail);
    // Forget the key once its queue drains, so the map only holds busy keys.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Whether a task for `key` is running or waiting its turn. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every task started so far has settled (whether it succeeded or not). */
  async idle(): Promise<void> {
    await Promise.all(this.tails.values());
  }
}
