/** A binary min-heap keyed by a number; entries are removed lazily by their owners. */
export class MinHeap<T> {
  private keys: number[] = [];
  private values: T[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(key: number, value: T): void {
    this.keys.push(key);
    this.values.push(value);
    let i = this.keys.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent]! <= key) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peekKey(): number | undefined {
    return this.keys[0];
  }

  peek(): T | undefined {
    return this.values[0];
  }

  pop(): T | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const top = this.values[0];
    const lastKey = this.keys.pop()!;
    const lastValue = this.values.pop()!;
    if (n > 1) {
      this.keys[0] = lastKey;
      this.values[0] = lastValue;
      this.siftDown(0);
    }
    return top;
  }

  /** Keeps only the entries `keep` accepts, re-heapified in O(n): lets an owner drop stale entries in bulk. */
  retain(keep: (value: T, key: number) => boolean): void {
    const keys: number[] = [];
    const values: T[] = [];
    for (let i = 0; i < this.keys.length; i++) {
      if (!keep(this.values[i]!, this.keys[i]!)) continue;
      keys.push(this.keys[i]!);
      values.push(this.values[i]!);
    }
    this.keys = keys;
    this.values = values;
    for (let i = (keys.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    let i = start;
    const size = this.keys.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && this.keys[l]! < this.keys[m]!) m = l;
      if (r < size && this.keys[r]! < this.keys[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  clear(): void {
    this.keys = [];
    this.values = [];
  }

  private swap(a: number, b: number): void {
    const k = this.keys[a]!;
    this.keys[a] = this.keys[b]!;
    this.keys[b] = k;
    const v = this.values[a]!;
    this.values[a] = this.values[b]!;
    this.values[b] = v;
  }
}
