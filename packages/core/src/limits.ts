/**
 * Fixed bounds every store enforces, named once. The validators use them; fast paths that skip
 * the validators (the WASM adapter's hot encoders) must use the same names, not literals.
 */

/** Smallest priority: priorities are int32 in every store (Postgres `integer`, WASM `i32`). */
export const INT32_MIN = -2147483648;
/** Largest priority. */
export const INT32_MAX = 2147483647;
/** Largest |epoch ms| a time may have: the range of a JS Date (±8.64e15). */
export const MAX_TIME_MS = 8.64e15;
/** Error texts longer than this many UTF-16 units are cut to it (plus '…'), never rejected. */
export const MAX_ERROR_TEXT_LENGTH = 8192;
