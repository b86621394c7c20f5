import { useId, useRef, useState, type FormEvent } from 'react';
import type { CeremonyActionInput } from '../../../../shared/ceremony/contract';
import type { CredentialKind } from '../../../../shared/ceremony/roles';
import { useCeremony } from '../../../stores/ceremony';
import { presentSlots, slotKey, useTokens } from '../../../stores/tokens';

export type ProofInput = Extract<CeremonyActionInput, { kind: 'present' }>['proof'];

// A person proves who they are for one action: their own card and its PIN, or their passphrase.
// The PIN or passphrase lives in this component's state only: it is taken out of the field when the
// form is sent (so it is not on screen while main works, nor after), and it goes with this
// component when the person or the step changes. It never reaches a store.

export function ProofForm({
  person,
  name,
  kind,
  enrol = false,
  workstationUri,
  submitText,
  busy,
  onProof,
}: {
  person: string;
  name: string;
  kind: CredentialKind;
  /** Enrolment: a new passphrase is typed twice. */
  enrol?: boolean;
  /** The workstation token, which is nobody's card. */
  workstationUri: string | null;
  submitText: string;
  busy: boolean;
  /** Sends the proof; true when main accepted it. */
  onProof(proof: ProofInput): Promise<boolean>;
}) {
  const listing = useTokens((s) => s.listing);
  const record = useCeremony((s) => s.record);
  const used = useCeremony((s) => s.cards[person] ?? null);
  const ids = useId();
  const [cardKey, setCardKey] = useState<string | null>(null);
  const [pin, setPin] = useState('');
  const [phrase, setPhrase] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const secretRef = useRef<HTMLInputElement>(null);

  // Any initialised token but the workstation's may be someone's card.
  const cards = presentSlots(listing).filter((s) => s.token && s.token.flags.initialized && s.token.uri !== workstationUri);
  // The person's own card by the serial the register holds (or the card they used here last, before
  // the register knows it: during the set-up); else the only card present.
  const serial = record?.people.find((p) => p.id === person)?.credential?.card?.serial ?? used;
  const own = serial ? cards.find((s) => s.token!.serial === serial) : undefined;
  const chosen = cards.find((s) => slotKey(s) === cardKey) ?? own ?? (cards.length === 1 ? cards[0] : undefined) ?? null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (kind === 'card') {
      if (!chosen?.token) return;
      const entered = pin;
      setPin('');
      const card = chosen.token;
      if (await onProof({ card: { module: chosen.module, token: card.uri, pin: entered } })) useCeremony.getState().rememberCard(person, card.serial);
    } else {
      if (enrol && phrase !== again) {
        setMismatch(true);
        setAgain('');
        secretRef.current?.focus();
        return;
      }
      const entered = phrase;
      setPhrase('');
      setAgain('');
      setMismatch(false);
      await onProof({ passphrase: entered });
    }
    secretRef.current?.focus();
  };

  return (
    <form className="proof-form" onSubmit={submit} aria-label={`${name}: ${submitText}`} autoComplete="off">
      {kind === 'card' ? (
        <>
          <div className="field">
            <label htmlFor={`${ids}-card`}>{name}’s card</label>
            <select id={`${ids}-card`} value={chosen ? slotKey(chosen) : ''} onChange={(e) => setCardKey(e.target.value || null)} disabled={busy} aria-describedby={`${ids}-card-hint`}>
              {!chosen ? <option value="">Choose the card…</option> : null}
              {cards.map((s) => (
                <option key={slotKey(s)} value={slotKey(s)}>
                  {s.token!.label} — serial {s.token!.serial}
                  {serial && s.token!.serial === serial ? ` (${name}’s card)` : ''}
                </option>
              ))}
            </select>
            <p id={`${ids}-card-hint`} className="hint">
              {cards.length === 0 ? 'No card is present: insert the card; the list updates by itself.' : 'Insert the card, then choose it here.'}
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${ids}-pin`}>{name}’s card PIN</label>
            <input id={`${ids}-pin`} ref={secretRef} type="password" className="mono" value={pin} onChange={(e) => setPin(e.target.value)} disabled={busy} autoComplete="off" spellCheck={false} />
          </div>
        </>
      ) : (
        <>
          <div className="field">
            <label htmlFor={`${ids}-phrase`}>{enrol ? `${name}’s new passphrase` : `${name}’s passphrase`}</label>
            <input id={`${ids}-phrase`} ref={secretRef} type="password" value={phrase} onChange={(e) => setPhrase(e.target.value)} disabled={busy} autoComplete="off" spellCheck={false} />
          </div>
          {enrol ? (
            <div className="field">
              <label htmlFor={`${ids}-again`}>The passphrase again</label>
              <input id={`${ids}-again`} type="password" value={again} onChange={(e) => setAgain(e.target.value)} disabled={busy} autoComplete="off" spellCheck={false} aria-invalid={mismatch || undefined} />
              {mismatch ? (
                <p className="field-error" role="alert">
                  The two passphrases differ. Type it again.
                </p>
              ) : null}
            </div>
          ) : null}
        </>
      )}
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy || (kind === 'card' && !chosen)}>
          {busy ? (kind === 'card' ? 'Waiting for the card…' : 'Checking…') : submitText}
        </button>
      </div>
    </form>
  );
}
