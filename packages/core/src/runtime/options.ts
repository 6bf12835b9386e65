/**
 * @internal Checks for the runtime's option objects, run at construction and registration so a
 * typo or a wrong type fails at once with an error naming the option, instead of silently falling
 * back to a default (`deadLetter: 'delete'` used to keep dead letters, `serializedDispatch: 'no'`
 * used to mean limit 1).
 */
import { InvalidArgumentError } from '../errors.js';
import { validateOptionsObject } from '../validation.js';

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}

/** An options object (undefined = `{}`) with only the known keys; an unknown key names itself. */
export function knownOptions(
  value: unknown,
  where: string,
  keys: readonly string[],
): Record<string, unknown> {
  const options = validateOptionsObject(value, where);
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      throw new InvalidArgumentError(
        `${where}: unknown option ${JSON.stringify(key)} (known: ${keys.join(', ')})`,
        { option: key },
      );
    }
  }
  return options;
}

/** true/false, or the default when omitted. */
export function optionalBoolean(value: unknown, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(`${where} must be true or false, got ${shown(value)}`, { option: where });
  }
  return value;
}

/** One of the allowed strings, or the default when omitted. */
export function optionalChoice<T extends string>(
  value: unknown,
  where: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new InvalidArgumentError(
      `${where} must be ${choices.map((c) => `'${c}'`).join(' or ')}, got ${shown(value)}`,
      { option: where },
    );
  }
  return value as T;
}

/** A function, or undefined when omitted. */
export function optionalFunction<F>(value: unknown, where: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new InvalidArgumentError(`${where} must be a function, got ${shown(value)}`, { option: where });
  }
  return value as F;
}

/** An object with these methods, or undefined when omitted (clock, timers, logger). */
export function optionalMethods<T>(value: unknown, where: string, methods: readonly string[]): T | undefined {
  if (value === undefined) return undefined;
  const missing =
    value === null || typeof value !== 'object'
      ? methods
      : methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `${where} must be an object with ${methods.map((m) => `${m}()`).join(', ')}; missing ${missing.join(', ')}`,
      { option: where },
    );
  }
  return value as T;
}

/** A non-empty string, or undefined when omitted. */
export function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${where} must be a non-empty string, got ${shown(value)}`, {
      option: where,
    });
  }
  return value;
}

/** The `resources` option: a plain object (default `{}`). */
export function checkResources(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`resources must be an object, got ${shown(value)}`, {
      option: 'resources',
    });
  }
  return value as Record<string, unknown>;
}

/** An AbortSignal (duck-typed: signals from another realm count), or undefined when omitted. */
export function optionalSignal(value: unknown, where: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const s = value as { aborted?: unknown; addEventListener?: unknown } | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.aborted !== 'boolean' ||
    typeof s.addEventListener !== 'function'
  ) {
    throw new InvalidArgumentError(`${where} must be an AbortSignal, got ${shown(value)}`, { option: where });
  }
  return value as AbortSignal;
}
