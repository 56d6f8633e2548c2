/**
 * Option checks shared by every package, so each bad value fails at construction with
 * `RangeError: retry: maxAttempts must be an integer >= 1, got 0`.
 */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

/**
 * Throws `where: option must be <expected>, got <value>`: a RangeError when the value has the
 * right type but is out of range (`range`), a TypeError otherwise. For the checks the validators
 * below do not cover.
 */
export function invalidOption(
  where: string,
  option: string,
  expected: string,
  value: unknown,
  range: boolean,
): never {
  const message = `${where}: ${option} must be ${expected}, got ${show(value)}`;
  throw range ? new RangeError(message) : new TypeError(message);
}

function number(where: string, option: string, value: unknown, expected: string): number {
  if (typeof value !== 'number') invalidOption(where, option, expected, value, false);
  if (Number.isNaN(value)) invalidOption(where, option, expected, value, true);
  return value;
}

/** An integer >= min (default 1). */
export function integerOption(where: string, option: string, value: unknown, min = 1): number {
  const expected = `an integer >= ${min}`;
  const n = number(where, option, value, expected);
  if (!Number.isInteger(n) || n < min) invalidOption(where, option, expected, value, true);
  return n;
}

/** A finite number >= min. */
export function atLeastOption(where: string, option: string, value: unknown, min: number): number {
  const expected = `a finite number >= ${min}`;
  const n = number(where, option, value, expected);
  if (!Number.isFinite(n) || n < min) invalidOption(where, option, expected, value, true);
  return n;
}

/** A finite number > 0. */
export function positiveOption(where: string, option: string, value: unknown): number {
  const expected = 'a finite number > 0';
  const n = number(where, option, value, expected);
  if (!Number.isFinite(n) || n <= 0) invalidOption(where, option, expected, value, true);
  return n;
}

/** A finite number >= 0. */
export function nonNegativeOption(where: string, option: string, value: unknown): number {
  const expected = 'a finite number >= 0';
  const n = number(where, option, value, expected);
  if (!Number.isFinite(n) || n < 0) invalidOption(where, option, expected, value, true);
  return n;
}

/** A number in (0, 1]. */
export function ratioOption(where: string, option: string, value: unknown): number {
  const expected = 'a number in (0, 1]';
  const n = number(where, option, value, expected);
  if (!(n > 0 && n <= 1)) invalidOption(where, option, expected, value, true);
  return n;
}

export function functionOption<F>(where: string, option: string, value: F): F {
  if (typeof value !== 'function') invalidOption(where, option, 'a function', value, false);
  return value;
}

export function oneOfOption<T extends string>(
  where: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    invalidOption(
      where,
      option,
      `one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
      value,
      typeof value === 'string',
    );
  }
  return value as T;
}

export function objectOption<T extends object>(
  where: string,
  option: string,
  value: T | undefined | null,
): T {
  if (typeof value !== 'object' || value === null)
    invalidOption(where, option, 'an object', value, false);
  return value;
}

/** A clock option: anything with now() and setTimer(). */
export function clockOption<C extends { now(): number; setTimer(...args: never[]): unknown }>(
  where: string,
  value: C,
): C {
  if (typeof value?.now !== 'function' || typeof value?.setTimer !== 'function') {
    invalidOption(where, 'clock', 'an object with now() and setTimer()', value, false);
  }
  return value;
}

/**
 * Refuses option names it does not know: a misspelt option would otherwise keep its default
 * without a word. `hints` explain names users bring from other libraries (`retries`).
 */
export function knownOptions(
  where: string,
  options: object,
  known: readonly string[],
  hints?: Readonly<Record<string, string>>,
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = hints !== undefined && Object.hasOwn(hints, key) ? ` (${hints[key]})` : '';
    throw new TypeError(
      `${where}: unknown option ${JSON.stringify(key)}${hint}; expected one of ${known.join(', ')}`,
    );
  }
}
