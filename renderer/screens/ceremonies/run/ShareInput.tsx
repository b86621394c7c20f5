import { useId, useState, type FormEvent } from 'react';
import { WordGrid } from '../../shares/WordGrid';

// One holder's share typed in the room: the SLIP-39 word grid, or the hex field of an XOR
// component. The verification round and a restore's share entry both use it. What was typed lives
// only in this component's state: the caller changes `round` once main has answered, which
// remounts the grid (clearing it); the hex field is cleared as soon as it is sent.

export function ShareInput({
  holder,
  scheme,
  words,
  verb,
  busyText,
  busy,
  round,
  onSend,
}: {
  holder: { person: string; name: string };
  scheme: string;
  /** How many words a share of this set has. */
  words: number;
  /** What the button does: "Enter" a restore's share, "Check" a share in the verification round. */
  verb: 'Enter' | 'Check';
  busyText: string;
  busy: boolean;
  round: number;
  onSend(share: string): void | Promise<void>;
}) {
  const [hex, setHex] = useState('');
  const ids = useId();
  const sendHex = async (e: FormEvent) => {
    e.preventDefault();
    const typed = hex;
    setHex('');
    await onSend(typed);
  };
  if (scheme === 'xor') {
    return (
      <form className="proof-form" onSubmit={sendHex} aria-label={`Component of ${holder.name}`} autoComplete="off">
        <div className="field">
          <label htmlFor={`${ids}-hex`}>{holder.name}’s component (64 hexadecimal digits, spaces allowed)</label>
          <input id={`${ids}-hex`} className="mono word-input" value={hex} onChange={(e) => setHex(e.target.value)} disabled={busy} autoComplete="off" spellCheck={false} />
        </div>
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Checking…' : `${verb} ${holder.name}’s component`}
          </button>
        </div>
      </form>
    );
  }
  return (
    <WordGrid
      key={`${holder.person}:${round}`}
      count={words}
      label={`Share of ${holder.name}`}
      submitText={`${verb} ${holder.name}’s share`}
      busyText={busyText}
      busy={busy}
      onSubmit={(m) => void onSend(m)}
      autoFocus={round > 0}
    />
  );
}
