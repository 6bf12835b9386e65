/** The console and silent loggers, and the option that picks one. */
import type { Logger } from './types.js';

const consoleLogger: Logger = {
  debug: (message, fields) => console.debug(`tideq: ${message}`, fields ?? ''),
  info: (message, fields) => console.info(`tideq: ${message}`, fields ?? ''),
  warn: (message, fields) => console.warn(`tideq: ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`tideq: ${message}`, fields ?? ''),
};

const noop = (): void => {};
const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** @internal */
export function resolveLogger(option: Logger | 'console' | 'silent' | undefined): Logger {
  if (option === undefined || option === 'console') return consoleLogger;
  if (option === 'silent') return silentLogger;
  return option;
}
