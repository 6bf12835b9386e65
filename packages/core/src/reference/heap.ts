/**
 * A binary min-heap over an array, ordered by a `before(a, b)` predicate (true when `a` must
 * come out first). The reference adapter keeps its ready and delayed queues in these and deletes
 * lazily: entries whose job moved on stay in the heap until they surface (or until `retain`
 * rebuilds it), which keeps every transition O(log n) without an index into the heap.
 */
export class Heap<T> {
  #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    this.#siftUp(items.length - 1);
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  /** Keep only the entries `keep` accepts and restore the heap order in O(n) (Floyd). */
  retain(keep: (item: T) => boolean): void {
    // A fresh array, so the memory of dropped entries is released with the old one.
    this.#items = this.#items.filter(keep);
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  clear(): void {
    this.#items = [];
  }

  #siftUp(index: number): void {
    const items = this.#items;
    const item = items[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = items[parent]!;
      if (!this.#before(item, above)) break;
      items[index] = above;
      index = parent;
    }
    items[index] = item;
  }

  #siftDown(index: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && this.#before(items[right]!, items[left]!) ? right : left;
      if (!this.#before(items[child]!, item)) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = item;
  }
}
