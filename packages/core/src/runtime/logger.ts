/** The console and silent loggers, and the option that picks one. */
import { InvalidArgumentError } from '../errors.js';
import type { Logger } from './types.js';

const consoleLogger: Logger = {
  debug: (message, fields) => console.debug(`tideq: ${message}`, fields ?? ''),
  info: (message, fields) => console.info(`tideq: ${message}`, fields ?? ''),
  warn: (message, fields) => console.warn(`tideq: ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`tideq: ${message}`, fields ?? ''),
};

const noop = (): void => {};
const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** @internal The `logger` option checked: 'console', 'silent', or an object with the four methods. */
export function checkLogger(value: unknown): Logger | 'console' | 'silent' | undefined {
  if (value === undefined || value === 'console' || value === 'silent') return value;
  const missing =
    value === null || typeof value !== 'object'
      ? ['debug', 'info', 'warn', 'error']
      : (['debug', 'info', 'warn', 'error'] as const).filter(
          (m) => typeof (value as Record<string, unknown>)[m] !== 'function',
        );
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `logger must be 'console', 'silent' or an object with debug(), info(), warn() and error(); missing ${missing.join(', ')}`,
      { option: 'logger' },
    );
  }
  return value as Logger;
}

/** @internal */
export function resolveLogger(option: Logger | 'console' | 'silent' | undefined): Logger {
  if (option === undefined || option === 'console') return consoleLogger;
  if (option === 'silent') return silentLogger;
  return option;
}
