/**
 * Opening the queue's database, layout changes through IndexedDB upgrades, and the translation of
 * IndexedDB failures into typed errors that say what to do.
 */
import { SchemaOutdatedError, StorageUnavailableError, TideqError } from '@tideq/core';
import { openDB } from 'idb';
import { applyLayout, type Db, type LayoutChange, type TideqDB } from './schema.js';

export interface OpenOptions {
  /** Called when another connection needs a version change: this one has closed itself. */
  onClosed: () => void;
  /** Create the tideq stores when the database did not exist yet. */
  installIfNew?: boolean;
}

function idbFactory(): IDBFactory {
  if (typeof indexedDB === 'undefined') {
    throw new StorageUnavailableError(
      'IndexedDB is not available here: run in a browser window or worker (in Node, import "fake-indexeddb/auto" first)',
    );
  }
  return indexedDB;
}

/** Open the database at whatever version it has (created empty, or installed, if missing). */
export async function openExisting(name: string, options: OpenOptions): Promise<Db> {
  idbFactory();
  try {
    const db = await openDB<TideqDB>(name, undefined, {
      upgrade: options.installIfNew
        ? (database, _old, _new, tx) => layout(database, tx, 'install')
        : undefined,
    });
    watch(db, options.onClosed);
    return db;
  } catch (error) {
    throw storageError(error, `opening the IndexedDB database "${name}"`);
  }
}

/**
 * Apply a layout change (install / uninstall) as an IndexedDB upgrade to the next version. Other
 * tideq connections close themselves on `versionchange`; a connection that does not (an old tab
 * of other code) blocks the upgrade: after `blockedTimeout` ms it fails with STORAGE_UNAVAILABLE,
 * and if the browser starts the upgrade later it is aborted, so the database stays as it was.
 */
export async function changeLayout(
  name: string,
  fromVersion: number,
  change: LayoutChange,
  blockedTimeout: number,
  options: OpenOptions,
): Promise<Db> {
  idbFactory();
  let gaveUp = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let rejectBlocked: ((error: Error) => void) | undefined;
  const blocked = new Promise<never>((_, reject) => {
    rejectBlocked = reject;
  });
  blocked.catch(() => {});
  const opening = openDB<TideqDB>(name, fromVersion + 1, {
    upgrade: (db, _old, _new, tx) => {
      tx.done.catch(() => {}); // an abort is reported through the open request
      if (gaveUp) {
        tx.abort();
        return;
      }
      layout(db, tx, change);
    },
    blocked: (currentVersion) => {
      timer ??= setTimeout(() => {
        gaveUp = true;
        rejectBlocked?.(
          new StorageUnavailableError(
            `the IndexedDB database "${name}" could not be ${change === 'install' ? 'installed or upgraded' : 'uninstalled'}: ` +
              `another tab or worker keeps version ${currentVersion} open and does not close it on "versionchange". ` +
              'Close or reload the other tabs of this site, then retry; nothing was changed.',
            { details: { database: name, version: currentVersion } },
          ),
        );
      }, blockedTimeout);
    },
  });
  try {
    const db = await Promise.race([opening, blocked]);
    watch(db, options.onClosed);
    return db;
  } catch (error) {
    if (gaveUp) {
      // The open may still complete later (aborted above if it reaches the upgrade): close it.
      opening.then((db) => db.close()).catch(() => {});
    }
    if (error instanceof Error && error.name === 'VersionError') {
      // Someone else changed the version in between: the caller re-reads and retries.
      throw new StorageUnavailableError(`the IndexedDB database "${name}" changed version meanwhile; retry`, {
        cause: error,
        details: { retry: true },
      });
    }
    throw storageError(error, `upgrading the IndexedDB database "${name}"`);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Run the layout change; if one of its requests fails, abort the upgrade so nothing is half-done. */
function layout(db: Db, tx: Parameters<typeof applyLayout>[1], change: LayoutChange): void {
  tx.done.catch(() => {}); // an abort is reported through the open request
  applyLayout(db, tx, change).catch(() => {
    try {
      tx.abort();
    } catch {
      // already aborted
    }
  });
}

function watch(db: Db, onClosed: () => void): void {
  // Close at once so the other tab's upgrade (or deleteDatabase) can proceed; reopen lazily.
  db.addEventListener('versionchange', () => {
    db.close();
    onClosed();
  });
  // The browser closed it (storage cleared, disk error): reopen lazily too.
  db.addEventListener('close', () => onClosed());
}

/** Whether an error means "the browser's storage is full" (Chromium reports AbortError near the quota). */
function isQuota(error: unknown): boolean {
  if (!(error instanceof Error) && !(typeof DOMException !== 'undefined' && error instanceof DOMException))
    return false;
  const name = (error as { name?: string }).name;
  return name === 'QuotaExceededError';
}

/**
 * Translate an IndexedDB failure into a TideqError: quota exhaustion, aborted transactions
 * (Chromium aborts a commit near the quota with a plain AbortError), disk and state errors become
 * STORAGE_UNAVAILABLE with advice; a database newer than this code becomes SCHEMA_OUTDATED.
 * TideqErrors pass through.
 */
export function storageError(error: unknown, doing: string): unknown {
  if (error instanceof TideqError) return error;
  const name = (error as { name?: unknown } | null)?.name;
  const message = (error as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' && message.length > 0 ? `: ${message}` : '';
  if (isQuota(error)) {
    return new StorageUnavailableError(
      `${doing} failed: the browser's storage quota for this site is used up (QuotaExceededError)${text}. ` +
        'Nothing was written. Free space (complete or clear jobs, compact() the log, delete other site data) ' +
        'or ask for persistent storage with navigator.storage.persist(), then retry.',
      { cause: error, details: { reason: 'quota' } },
    );
  }
  if (name === 'AbortError') {
    return new StorageUnavailableError(
      `${doing} failed: the browser aborted the transaction (AbortError)${text}. Nothing was written. ` +
        'Chromium does this when the site is close to its storage quota: free space (complete or clear ' +
        'jobs, compact() the log) or ask for persistent storage with navigator.storage.persist(), then retry.',
      { cause: error, details: { reason: 'aborted' } },
    );
  }
  if (name === 'VersionError') {
    return new SchemaOutdatedError(
      `${doing} failed: the database was upgraded by a newer version of tideq in another tab${text}. ` +
        'Reload this page to run the newer code.',
      { cause: error },
    );
  }
  if (typeof name === 'string' && /^(UnknownError|InvalidStateError)$/.test(name)) {
    return new StorageUnavailableError(
      `${doing} failed: IndexedDB reported ${name}${text}. The browser's storage may be unavailable ` +
        '(private mode, disk full, storage cleared): check the site data and retry.',
      { cause: error, details: { reason: name } },
    );
  }
  return error;
}
