// Parsers for the CLI's numeric and date options, shared by every command: a number is whole
// decimal digits within the option's range, a date is YYYY-MM-DD or an ISO 8601 time that names a
// real day. `Number()` alone took "1e3", "0x10", "" and "12.5", and `Date.parse` took "1" (2001) and
// 31 February (3 March), so a typo became a different query or a wrong date in a record (issue #11).
import { normalizeDate } from '../../shared/archive/policy';
import { invalidInput } from '../../shared/result';

/** A whole number from `min` to `max` given as decimal digits, or a usage error naming the option. */
export function parseInteger(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || n < min || n > max) {
    invalidInput(`${option} must be a whole number from ${min} to ${max}; "${value.slice(0, 40)}" is not.`, `Correct ${option}.`, { option });
  }
  return n;
}

/** A commander argument parser for parseInteger. */
export const intOption =
  (option: string, min: number, max: number) =>
  (value: string): number =>
    parseInteger(option, value, min, max);

/** A date or date-time as stored everywhere (ISO 8601 UTC with milliseconds), or a usage error. */
export function parseDate(option: string, value: string): string {
  const d = normalizeDate(value);
  if (!d) invalidInput(`${option} is not a date: "${value.slice(0, 40)}".`, 'Use YYYY-MM-DD or an ISO 8601 date-time such as 2026-03-01T09:30:00Z.', { option });
  return d;
}

/** A commander argument parser for parseDate. */
export const dateOption =
  (option: string) =>
  (value: string): string =>
    parseDate(option, value);
