/**
 * A push/pull bridge from callbacks to `for await`. With a capacity, pushing
 * into a full queue drops the oldest item (for best-effort streams); without
 * one, the producer is responsible for bounding what it pushes (StreamJobs
 * pushes at most max_concurrent jobs before some are settled).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private ended = false;
  dropped = 0;

  constructor(private readonly capacity = Infinity) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: item, done: false });
      return;
    }
    if (this.length >= this.capacity) {
      this.head++;
      this.dropped++;
    }
    this.items.push(item);
  }

  /** No more items: pending and future reads finish once the buffer is empty. */
  end(): void {
    this.ended = true;
    if (this.waiter && this.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Removes and returns everything still buffered. */
  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return out;
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const v = this.items[this.head]!;
      this.items[this.head++] = undefined as T;
      if (this.head > 256 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value: v, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
      // Consumers that abort iteration (connect-es does, for request streams) call throw().
      throw: (e?: unknown) => {
        this.end();
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      },
    };
  }
}
