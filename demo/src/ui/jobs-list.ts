/**
 * The jobs list, virtualised: the engine keeps the index and filters it; the page asks only for
 * the rows in view (plus a margin) and positions them absolutely in a tall spacer. Rows are
 * buttons (Tab, Enter); arrow keys move between rows.
 */
import type { JobFilter, JobPage, JobRow } from '../protocol.ts';

const ROW_HEIGHT = 28;
/** Rows kept beyond the visible ones: each new row costs style and layout when the list moves. */
const MARGIN_ROWS = 4;

export class JobsList {
  readonly #root: HTMLElement;
  readonly #spacer: HTMLDivElement;
  readonly #fetch: (filter: JobFilter, offset: number, limit: number) => Promise<JobPage>;
  readonly #onOpen: (id: number) => void;
  readonly #onTotal: (page: JobPage) => void;
  #filter: JobFilter = { status: 'all', entrypoint: '', text: '' };
  #total = 0;
  #selected: number | null = null;
  #loading = false;
  #again = false;
  /** Kept from the scroll and resize events, so a refresh never forces a layout to read them. */
  #scrollTop = 0;
  #height = 0;
  /** The row buttons, reused from one refresh to the next: only what changed is written. */
  readonly #rows: HTMLButtonElement[] = [];
  readonly #shown = new WeakMap<HTMLButtonElement, string>();
  #empty: HTMLParagraphElement | null = null;

  constructor(
    root: HTMLElement,
    fetch: (filter: JobFilter, offset: number, limit: number) => Promise<JobPage>,
    onOpen: (id: number) => void,
    onTotal: (page: JobPage) => void,
  ) {
    this.#root = root;
    this.#fetch = fetch;
    this.#onOpen = onOpen;
    this.#onTotal = onTotal;
    this.#spacer = document.createElement('div');
    this.#spacer.className = 'spacer';
    root.append(this.#spacer);
    let scheduled = false;
    new ResizeObserver(() => {
      this.#height = root.clientHeight;
    }).observe(root);
    // One listener for every row (rows are reused, so they carry no listener of their own).
    this.#spacer.addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.rowbtn');
      if (!button) return;
      const id = Number(button.dataset.id);
      this.#selected = id;
      for (const b of this.#spacer.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
      button.setAttribute('aria-current', 'true');
      this.#onOpen(id);
    });
    root.addEventListener('scroll', () => {
      this.#scrollTop = root.scrollTop;
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        void this.refresh();
      });
    });
    root.addEventListener('keydown', (event) => this.#onKey(event));
  }

  setFilter(filter: JobFilter): void {
    this.#filter = filter;
    this.#root.scrollTop = 0;
    this.#scrollTop = 0;
    void this.refresh();
  }

  /** Fetches the visible rows; a call while one is in flight runs once more afterwards. */
  async refresh(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return;
    }
    this.#loading = true;
    try {
      do {
        this.#again = false;
        if (this.#height === 0) this.#height = this.#root.clientHeight; // before the first resize event
        const first = Math.max(0, Math.floor(this.#scrollTop / ROW_HEIGHT) - MARGIN_ROWS);
        const count = Math.ceil(this.#height / ROW_HEIGHT) + 2 * MARGIN_ROWS;
        const page = await this.#fetch(this.#filter, first, count);
        // Written in the next animation frame, with the page's other updates of that frame.
        await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
        this.#render(page);
      } while (this.#again);
    } catch {
      // the engine is restarting (kill the worker, store switch): the next poll refreshes
    } finally {
      this.#loading = false;
    }
  }

  #render(page: JobPage): void {
    this.#total = page.total;
    this.#onTotal(page);
    const height = `${page.total * ROW_HEIGHT}px`;
    if (this.#spacer.style.height !== height) this.#spacer.style.height = height;
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.id;
    while (this.#rows.length > page.rows.length) this.#rows.pop()!.remove();
    page.rows.forEach((row, i) => {
      let button = this.#rows[i];
      if (!button) {
        button = this.#newRow();
        this.#rows.push(button);
        this.#spacer.append(button);
      }
      this.#update(button, row, page.offset + i);
    });
    if (page.total === 0) {
      if (!this.#empty) {
        this.#empty = document.createElement('p');
        this.#empty.className = 'empty';
      }
      this.#empty.textContent =
        this.#filter.status === 'all' && this.#filter.entrypoint === '' && this.#filter.text === ''
          ? 'No jobs yet. Enqueue some with the form on the left.'
          : 'No job matches these filters.';
      if (!this.#empty.isConnected) this.#spacer.append(this.#empty);
    } else this.#empty?.remove();
    if (focusedId && (document.activeElement as HTMLElement | null)?.dataset?.id !== focusedId)
      this.#spacer.querySelector<HTMLElement>(`[data-id="${focusedId}"]`)?.focus();
  }

  #newRow(): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'rowbtn';
    for (const cls of ['mono', '', 'status', 'opt', 'opt']) {
      const span = document.createElement('span');
      if (cls) span.className = cls;
      button.append(span);
    }
    return button;
  }

  /** Writes a row only when what it shows changed (most rows of a busy queue do not, each second). */
  #update(button: HTMLButtonElement, row: JobRow, position: number): void {
    const key = `${position}|${row.id}|${row.entrypoint}|${row.status}|${row.priority}|${row.attempts}|${row.id === this.#selected}`;
    if (this.#shown.get(button) === key) return;
    this.#shown.set(button, key);
    if (row.id === this.#selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    button.dataset.id = String(row.id);
    button.dataset.pos = String(position);
    button.style.top = `${position * ROW_HEIGHT}px`;
    button.setAttribute(
      'aria-label',
      `job ${row.id}, ${row.entrypoint}, ${row.status}, priority ${row.priority}, attempts ${row.attempts}`,
    );
    const texts = [`#${row.id}`, row.entrypoint, row.status, `p${row.priority}`, `${row.attempts} att.`];
    const spans = button.children;
    texts.forEach((text, i) => {
      const span = spans[i] as HTMLElement;
      if (span.textContent !== text) span.textContent = text;
    });
    const statusClass = `status ${row.status}`;
    if ((spans[2] as HTMLElement).className !== statusClass)
      (spans[2] as HTMLElement).className = statusClass;
  }

  #onKey(event: KeyboardEvent): void {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const current = document.activeElement as HTMLElement | null;
    const pos = current?.dataset.pos === undefined ? -1 : Number(current.dataset.pos);
    const next = Math.max(0, Math.min(this.#total - 1, pos + (event.key === 'ArrowDown' ? 1 : -1)));
    event.preventDefault();
    const top = next * ROW_HEIGHT;
    if (top < this.#root.scrollTop) this.#root.scrollTop = top;
    else if (top + ROW_HEIGHT > this.#root.scrollTop + this.#root.clientHeight)
      this.#root.scrollTop = top + ROW_HEIGHT - this.#root.clientHeight;
    this.#scrollTop = this.#root.scrollTop; // the scroll event comes later; refresh() below needs it now
    const focus = () => this.#spacer.querySelector<HTMLElement>(`[data-pos="${next}"]`)?.focus();
    focus();
    void this.refresh().then(focus);
  }
}
