/**
 * The jobs list, virtualised: the engine keeps the index and filters it; the page asks only for
 * the rows in view (plus a margin) and positions them absolutely in a tall spacer. Rows are
 * buttons (Tab, Enter); arrow keys move between rows.
 */
import type { JobFilter, JobPage, JobRow } from '../protocol.ts';

const ROW_HEIGHT = 28;
const MARGIN_ROWS = 10;

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
    root.addEventListener('scroll', () => {
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
        const first = Math.max(0, Math.floor(this.#root.scrollTop / ROW_HEIGHT) - MARGIN_ROWS);
        const count = Math.ceil(this.#root.clientHeight / ROW_HEIGHT) + 2 * MARGIN_ROWS;
        const page = await this.#fetch(this.#filter, first, count);
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
    this.#spacer.style.height = `${page.total * ROW_HEIGHT}px`;
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.id;
    const rows: HTMLElement[] = page.rows.map((row, i) => this.#row(row, page.offset + i));
    if (page.total === 0) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent =
        this.#filter.status === 'all' && this.#filter.entrypoint === '' && this.#filter.text === ''
          ? 'No jobs yet. Enqueue some with the form on the left.'
          : 'No job matches these filters.';
      rows.push(empty);
    }
    this.#spacer.replaceChildren(...rows);
    if (focusedId) this.#spacer.querySelector<HTMLElement>(`[data-id="${focusedId}"]`)?.focus();
  }

  #row(row: JobRow, position: number): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'rowbtn';
    if (row.id === this.#selected) button.setAttribute('aria-current', 'true');
    button.dataset.id = String(row.id);
    button.dataset.pos = String(position);
    button.style.top = `${position * ROW_HEIGHT}px`;
    button.setAttribute(
      'aria-label',
      `job ${row.id}, ${row.entrypoint}, ${row.status}, priority ${row.priority}, attempts ${row.attempts}`,
    );
    const cells = [
      [`#${row.id}`, 'mono'],
      [row.entrypoint, ''],
      [row.status, `status ${row.status}`],
      [`p${row.priority}`, 'opt'],
      [`${row.attempts} att.`, 'opt'],
    ];
    for (const [text, cls] of cells) {
      const span = document.createElement('span');
      span.textContent = text!;
      if (cls) span.className = cls;
      button.append(span);
    }
    button.addEventListener('click', () => {
      this.#selected = row.id;
      for (const b of this.#spacer.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
      button.setAttribute('aria-current', 'true');
      this.#onOpen(row.id);
    });
    return button;
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
    const focus = () => this.#spacer.querySelector<HTMLElement>(`[data-pos="${next}"]`)?.focus();
    focus();
    void this.refresh().then(focus);
  }
}
