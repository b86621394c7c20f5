import { useEffect, useId, useMemo, useRef, useState, type ClipboardEvent, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import type { AppError } from '../../../shared/result';
import { slip39AppError } from '../../../shared/shares/errors';
import { checkWords, decodeMnemonic, Slip39Error, UNIQUE_PREFIX_LENGTH, type WordVerdict } from '../../../shared/slip39';

// One share, typed word by word: a numbered field per word, each checked against the SLIP-39 word
// list as it is typed (pure shared code, in the page: nothing crosses to main while typing). A
// unique prefix (4 letters always are) stands for its word and is written out in full when the
// field is left; nothing is ever "corrected". When every word is known, the share's checksum is
// checked here too, so a mistyped share is caught before it is sent.
//
// The words live only in this component's state. The parent clears them by remounting it (a new
// `key`), which it does when the share has been sent or the step is left.

const MAX_CANDIDATES_SHOWN = 4;

type LocalVerdict = { state: 'incomplete'; recognised: number; unknown: number[]; ambiguous: number[] } | { state: 'valid' } | { state: 'invalid'; error: AppError; word?: number };

/** A word's verdict in words (colour only repeats it). */
function verdictText(v: WordVerdict, typed: string): { text: string; tone: 'ok' | 'ambiguous' | 'unknown' | 'empty' } {
  switch (v.status) {
    case 'known':
      return { text: `✓ ${v.word}`, tone: 'ok' };
    case 'prefix':
      return { text: `✓ ${v.word}`, tone: 'ok' };
    case 'ambiguous':
      return v.candidates.length <= MAX_CANDIDATES_SHOWN
        ? { text: `… could be ${v.candidates.join(', ')}`, tone: 'ambiguous' }
        : { text: `… ${v.candidates.length} words fit: keep typing`, tone: 'ambiguous' };
    case 'unknown':
      return typed.trim() === '' ? { text: '', tone: 'empty' } : { text: '✗ not a SLIP-39 word', tone: 'unknown' };
  }
}

const clean = (s: string): string => s.toLowerCase().replace(/[^a-z]/g, '');

export interface WordGridProps {
  count: number;
  /** Names the share for screen readers ("Bob Chen's share"). */
  label: string;
  submitText: string;
  busyText: string;
  busy: boolean;
  autoFocus?: boolean;
  /** Gets the share as full lowercase words separated by single spaces. */
  onSubmit(mnemonic: string): void;
  /** Buttons beside the submit button (Back, Cancel…). */
  extra?: ReactNode;
}

export function WordGrid({ count, label, submitText, busyText, busy, autoFocus, onSubmit, extra }: WordGridProps) {
  const [words, setWords] = useState<string[]>(() => Array.from({ length: count }, () => ''));
  const [tried, setTried] = useState(false);
  const inputs = useRef<Array<HTMLInputElement | null>>([]);
  const ids = useId();

  useEffect(() => {
    if (autoFocus) inputs.current[0]?.focus();
  }, [autoFocus]);

  const verdicts = useMemo(() => checkWords(words), [words]);

  const local: LocalVerdict = useMemo(() => {
    const unknown: number[] = [];
    const ambiguous: number[] = [];
    let recognised = 0;
    verdicts.forEach((v, i) => {
      if (v.status === 'known' || v.status === 'prefix') recognised++;
      else if (v.status === 'ambiguous') ambiguous.push(i + 1);
      else if ((words[i] ?? '').trim() !== '') unknown.push(i + 1);
    });
    if (recognised < count) return { state: 'incomplete', recognised, unknown, ambiguous };
    const full = verdicts.map((v) => (v.status === 'known' || v.status === 'prefix' ? v.word : '')).join(' ');
    try {
      const share = decodeMnemonic(full);
      share.value.fill(0);
      return { state: 'valid' };
    } catch (e) {
      if (!(e instanceof Slip39Error)) throw e;
      const error = slip39AppError(e);
      return { state: 'invalid', error, ...(e.details.wordIndex !== undefined ? { word: e.details.wordIndex + 1 } : {}) };
    }
  }, [verdicts, words, count]);

  const setWord = (i: number, value: string) => setWords((w) => w.map((x, j) => (j === i ? value : x)));
  const focus = (i: number) => {
    const el = inputs.current[Math.max(0, Math.min(count - 1, i))];
    el?.focus();
    el?.select();
  };
  /** A unique prefix becomes its word when the field is left. */
  const expand = (i: number) => {
    const v = verdicts[i];
    if (v?.status === 'prefix') setWord(i, v.word);
  };
  const firstOpen = (): number => verdicts.findIndex((v) => v.status !== 'known' && v.status !== 'prefix');

  const onKeyDown = (i: number) => (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === ' ') {
      e.preventDefault();
      expand(i);
      focus(i + 1);
    } else if (e.key === 'Enter') {
      if (local.state === 'valid') return; // submits the form
      e.preventDefault();
      expand(i);
      if (i < count - 1) focus(i + 1);
      else {
        setTried(true);
        const open = firstOpen();
        if (open >= 0) focus(open);
      }
    } else if (e.key === 'Backspace' && (words[i] ?? '') === '' && i > 0) {
      e.preventDefault();
      focus(i - 1);
    }
  };

  // Pasting several words (from a password manager, or a test) fills the following fields.
  const onPaste = (i: number) => (e: ClipboardEvent<HTMLInputElement>) => {
    const parts = e.clipboardData.getData('text').trim().toLowerCase().split(/\s+/).map(clean).filter(Boolean);
    if (parts.length < 2) return;
    e.preventDefault();
    setWords((w) => w.map((x, j) => (j >= i && j - i < parts.length ? parts[j - i]! : x)));
    focus(Math.min(count - 1, i + parts.length));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setTried(true);
    if (local.state !== 'valid') {
      const open = local.state === 'invalid' && local.word ? local.word - 1 : firstOpen();
      if (open >= 0) focus(open);
      return;
    }
    onSubmit(verdicts.map((v) => (v.status === 'known' || v.status === 'prefix' ? v.word : '')).join(' '));
  };

  const statusId = `${ids}-status`;
  return (
    <form className="wordgrid-form" onSubmit={submit} aria-label={label} autoComplete="off">
      <ol className="wordgrid" aria-describedby={statusId}>
        {words.map((w, i) => {
          const v = verdicts[i]!;
          const { text, tone } = verdictText(v, w);
          const bad = tone === 'unknown' || (tone === 'ambiguous' && tried) || (local.state === 'invalid' && local.word === i + 1);
          return (
            <li key={i} className={`word-cell word-${tone}${bad ? ' word-bad' : ''}`}>
              <label className="word-n" htmlFor={`${ids}-w${i}`}>
                <span className="sr-only">Word </span>
                {i + 1}
              </label>
              <input
                id={`${ids}-w${i}`}
                ref={(el) => {
                  inputs.current[i] = el;
                }}
                className="mono word-input"
                value={w}
                onChange={(e) => setWord(i, clean(e.target.value))}
                onBlur={() => expand(i)}
                onKeyDown={onKeyDown(i)}
                onPaste={onPaste(i)}
                maxLength={16}
                autoComplete="off"
                autoCorrect="off"
                autoCapitalize="none"
                spellCheck={false}
                aria-invalid={bad || undefined}
                aria-describedby={`${ids}-v${i}`}
                disabled={busy}
              />
              <span id={`${ids}-v${i}`} className="word-verdict" data-testid={`word-verdict-${i + 1}`}>
                {text}
              </span>
            </li>
          );
        })}
      </ol>
      <div id={statusId} className={`share-verdict share-verdict-${local.state}`} role="status" data-testid="share-local-verdict">
        {local.state === 'valid' ? (
          <p>
            <strong>✓ All {count} words are SLIP-39 words and the share’s checksum is right.</strong>
          </p>
        ) : local.state === 'invalid' ? (
          <>
            <p>
              <strong>✗ {local.error.message}</strong>
            </p>
            <p>The share has not been sent anywhere: correct the words first.</p>
          </>
        ) : (
          <>
            <p>
              {local.recognised} of {count} words recognised. Type the first {UNIQUE_PREFIX_LENGTH} letters of each word, or all of it;
              Space or Enter moves to the next word.
            </p>
            {local.unknown.length > 0 ? (
              <p className="field-error">
                {local.unknown.length === 1 ? `Word ${local.unknown[0]} is not a SLIP-39 word. Compare it` : `Words ${local.unknown.join(', ')} are not SLIP-39 words. Compare them`}{' '}
                with the written share.
              </p>
            ) : null}
            {tried && local.ambiguous.length > 0 ? (
              <p className="field-error">
                {local.ambiguous.length === 1 ? `Word ${local.ambiguous[0]} could be several words` : `Words ${local.ambiguous.join(', ')} could be several words each`}: type
                more letters.
              </p>
            ) : null}
            {tried && local.unknown.length === 0 && local.ambiguous.length === 0 ? (
              <p className="field-error">Some words are still empty.</p>
            ) : null}
          </>
        )}
      </div>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? busyText : submitText}
        </button>
        {extra}
      </div>
    </form>
  );
}
