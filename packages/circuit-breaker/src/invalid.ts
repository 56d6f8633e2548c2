/** The message core's option validators use, for the checks they do not cover. */
export function invalid(
  where: string,
  option: string,
  expected: string,
  value: unknown,
  range: boolean,
): never {
  const message = `${where}: ${option} must be ${expected}, got ${show(value)}`;
  throw range ? new RangeError(message) : new TypeError(message);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
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
