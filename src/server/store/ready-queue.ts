/**
 * Available jobs of one queue: highest priority first, FIFO within a priority.
 * One array-backed deque per priority level, so push and shift are O(1) and
 * removing a job (cancel, expiry) is a lazy mark checked when it reaches the head.
 */
import { Deque } from "./deque.js";

export interface ReadyItem {
  readonly id: string;
  /** False once the item left the ready state by some other path (cancel, expiry). */
  ready: boolean;
}

export class ReadyQueue<T extends ReadyItem> {
  private levels = new Map<number, Deque<T>>();
  /** Priorities with a deque, highest first. */
  private order: number[] = [];
  private live = 0;

  /** Number of items still marked ready. */
  get size(): number {
    return this.live;
  }

  push(priority: number, item: T): void {
    this.level(priority).push(item);
    this.live++;
  }

  /** Puts an item back at the head of its priority (one that was shifted and must wait its turn again). */
  unshift(priority: number, item: T): void {
    this.level(priority).unshift(item);
    this.live++;
  }

  /** The deque of one priority, made (and put in order, highest first) on first use. */
  private level(priority: number): Deque<T> {
    let d = this.levels.get(priority);
    if (!d) {
      d = new Deque<T>();
      this.levels.set(priority, d);
      let i = 0;
      while (i < this.order.length && this.order[i]! > priority) i++;
      this.order.splice(i, 0, priority);
    }
    return d;
  }

  /** Call when an item stops being ready without being shifted. */
  forget(): void {
    this.live--;
  }

  shift(): T | undefined {
    for (let i = 0; i < this.order.length; i++) {
      const p = this.order[i]!;
      const d = this.levels.get(p)!;
      let v = d.shift();
      while (v !== undefined && !v.ready) v = d.shift();
      if (d.length === 0) {
        this.levels.delete(p);
        this.order.splice(i, 1);
        i--;
      }
      if (v !== undefined) {
        this.live--;
        return v;
      }
    }
    return undefined;
  }

  *values(): IterableIterator<T> {
    for (const p of this.order) for (const v of this.levels.get(p)!.values()) if (v.ready) yield v;
  }
}
