// Input rules for archive metadata, shared by the services, the CLI and (for inline hints) the UI.
// Each returns null when the value is acceptable, or a sentence saying what is wrong.

/** Labels are what custodians read aloud: printable, no control characters, at most 128 characters. */
export function labelProblem(label: unknown): string | null {
  if (typeof label !== 'string' || label.trim() === '') return 'A key label is required.';
  if (label !== label.trim()) return 'A key label must not start or end with spaces.';
  if ([...label].length > 128) return 'A key label has at most 128 characters.';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(label)) return 'A key label must not contain control characters.';
  if (label.endsWith('*')) return 'A key label must not end with "*" (that marks a prefix search).';
  return null;
}

const TAG = /^[a-z0-9][a-z0-9._:/-]{0,63}$/;

/** Tags are lower-case words (letters, digits and . _ : / -), at most 64 characters. */
export function normalizeTag(tag: string): string {
  return tag.trim().toLowerCase();
}

export function tagProblem(tag: unknown): string | null {
  if (typeof tag !== 'string' || !TAG.test(tag)) return `"${String(tag).slice(0, 70)}" is not a valid tag: use lower-case letters, digits and . _ : / - (at most 64).`;
  return null;
}

/** Sorted, unique, normalised tags; throws nothing — invalid ones are reported by tagProblem. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map(normalizeTag))].sort();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

/** Free text (names, reasons, descriptions): at most `max` characters, no control characters except newlines. */
export function textProblem(what: string, value: unknown, max = 500): string | null {
  if (typeof value !== 'string') return `${what} must be text.`;
  if ([...value].length > max) return `${what} has at most ${max} characters.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(value)) return `${what} must not contain control characters.`;
  return null;
}
