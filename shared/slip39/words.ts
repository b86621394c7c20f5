/**
 * Word-list lookups and typing help.
 *
 * SLIP-0039 "Wordlist": 1024 words, sorted, 4 to 8 letters, and every word has a
 * unique 4-letter prefix. Since no word is shorter than 4 letters, no word is a prefix
 * of another, so a prefix matching exactly one word identifies it, and any 4 letters
 * are enough to pick a word.
 *
 * We complete prefixes but never "correct" a word: the spec (Combining the shares,
 * step 1, and rationale 5) warns that automatic correction can turn an invalid
 * mnemonic into a valid but different one.
 */

import { WORDLIST } from './wordlist';

const INDEX = new Map<string, number>(WORDLIST.map((w, i) => [w, i]));

/** Letters that uniquely identify any word. */
export const UNIQUE_PREFIX_LENGTH = 4;

/** Canonical form of a typed word: trimmed and lower-case. */
export function normalizeWord(word: string): string {
  return word.trim().toLowerCase();
}

/** Split a typed mnemonic into normalized words (any whitespace separates). */
export function splitMnemonic(mnemonic: string): string[] {
  const trimmed = mnemonic.trim().toLowerCase();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** 10-bit value of an exact (normalized) word, or undefined. */
export function wordIndex(word: string): number | undefined {
  return INDEX.get(word);
}

export function wordAt(index: number): string {
  const w = WORDLIST[index];
  if (w === undefined) throw new RangeError(`word index out of range: ${index}`);
  return w;
}

/** Words starting with `prefix` (already normalized), using the list's sort order. */
function wordsWithPrefix(prefix: string): string[] {
  // Binary search for the first word >= prefix; matches are contiguous from there.
  let lo = 0;
  let hi = WORDLIST.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((WORDLIST[mid] as string) < prefix) lo = mid + 1;
    else hi = mid;
  }
  const out: string[] = [];
  for (let i = lo; i < WORDLIST.length; i++) {
    const w = WORDLIST[i] as string;
    if (!w.startsWith(prefix)) break;
    out.push(w);
  }
  return out;
}

export interface WordCompletion {
  /** The single word the prefix stands for, if it is unambiguous. */
  word?: string;
  /** All words starting with the prefix (empty for an empty or unknown prefix). */
  candidates: string[];
}

/**
 * Complete a typed prefix. `word` is set when exactly one word starts with the prefix
 * (always the case once 4 letters of a real word are typed).
 */
export function completeWord(prefix: string): WordCompletion {
  const p = normalizeWord(prefix);
  if (p === '') return { candidates: [] };
  const candidates = wordsWithPrefix(p);
  const only = candidates.length === 1 ? candidates[0] : undefined;
  return only === undefined ? { candidates } : { word: only, candidates };
}

export type WordVerdict =
  /** An exact word-list word. */
  | { status: 'known'; word: string; value: number }
  /** An incomplete but unambiguous prefix of `word`. */
  | { status: 'prefix'; word: string; value: number }
  /** A prefix of several words. */
  | { status: 'ambiguous'; candidates: string[] }
  /** No word starts with this (a typo, or not a SLIP-39 word at all). */
  | { status: 'unknown' };

/** Per-word verdicts, aligned with the input array. */
export function checkWords(words: readonly string[]): WordVerdict[] {
  return words.map((raw): WordVerdict => {
    const w = normalizeWord(raw);
    const exact = w === '' ? undefined : INDEX.get(w);
    if (exact !== undefined) return { status: 'known', word: w, value: exact };
    const { word, candidates } = completeWord(w);
    if (word !== undefined) return { status: 'prefix', word, value: INDEX.get(word) as number };
    if (candidates.length > 1) return { status: 'ambiguous', candidates };
    return { status: 'unknown' };
  });
}
