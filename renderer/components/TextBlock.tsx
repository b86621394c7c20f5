import { useEffect, useId, useRef, useState } from 'react';
import type { Artefact } from '../../shared/files';
import { SaveButton } from './SaveButton';

const COPY_TIMEOUT_MS = 1500;

/**
 * Public text to hand on (a PEM, a JWK, a CSR): monospace, wrapped, never truncated, with Copy.
 * The sandbox may refuse the clipboard; then the text is selected so that Ctrl+C copies it.
 * Nothing is ever downloaded or written to disk from the page: "Save to file…" asks main to make
 * and save the artefact it names (components/SaveButton.tsx).
 */
export function TextBlock({ label, text, save }: { label: string; text: string; save?: { artefact: Artefact; what: string } }) {
  const pre = useRef<HTMLPreElement>(null);
  const [status, setStatus] = useState<string | null>(null);
  const labelId = useId();
  useEffect(() => setStatus(null), [text]);

  const select = () => {
    const el = pre.current;
    if (!el) return;
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    el.focus();
  };

  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      // A clipboard that never answers (no permission prompt in a sandbox) counts as refused.
      await Promise.race([
        navigator.clipboard.writeText(text),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), COPY_TIMEOUT_MS)),
      ]);
      setStatus('Copied to the clipboard.');
    } catch {
      select();
      setStatus('Copying is not allowed here, so the text is selected: press Ctrl+C to copy it.');
    }
  };

  return (
    <div className="textblock">
      <div className="textblock-head">
        <span id={labelId} className="label">
          {label}
        </span>
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={select}>
          Select all
        </button>
      </div>
      {save ? <SaveButton artefact={save.artefact} what={save.what} /> : null}
      <pre ref={pre} className="mono codeblock" tabIndex={0} aria-labelledby={labelId}>
        {text}
      </pre>
      <p className="hint" role="status">
        {status}
      </p>
    </div>
  );
}
