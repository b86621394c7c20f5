import { useState, type ReactNode } from 'react';
import { OpenFile } from '../../../components/OpenFile';
import { ProofForm, type ProofInput } from './Proof';

// A holder whose share was sealed to their card (custos shares seal) presents it instead of typing
// it: they load the envelope file (main reads and checks its format), choose their card and enter
// its PIN; main opens the envelope inside that card and checks the share exactly as a typed one.
// The share's words never come to this page: only the envelope (ciphertext and header) and the PIN
// go to main, and the verdict comes back. The PIN lives in the proof form's state only.

type Card = Extract<ProofInput, { card: unknown }>['card'];

/** What the envelope's header says, for the holder to check before the card is asked (no secret in it). */
function headerOf(text: string): { set: number; card: string; holder: string | null } | null {
  try {
    const e = JSON.parse(text) as { share?: { setId?: unknown; holder?: unknown }; recipient?: { tokenLabel?: unknown; tokenSerial?: unknown } };
    const label = typeof e.recipient?.tokenLabel === 'string' ? `“${e.recipient.tokenLabel}”` : 'a card not named in the file';
    const serial = typeof e.recipient?.tokenSerial === 'string' ? ` (serial ${e.recipient.tokenSerial})` : '';
    const holder = typeof e.share?.holder === 'string' ? e.share.holder : null;
    return typeof e.share?.setId === 'number' ? { set: e.share.setId, card: `${label}${serial}`, holder } : null;
  } catch {
    return null;
  }
}

export function SealedShareInput({
  holder,
  workstationUri,
  busy,
  verb,
  failure,
  onSend,
}: {
  holder: { person: string; name: string };
  workstationUri: string | null;
  busy: boolean;
  verb: 'Enter' | 'Check' | 'Open';
  /** Main's refusal, shown under the button the holder just pressed. */
  failure: ReactNode;
  /** Sends the envelope and the card; true when main accepted the share. */
  onSend(envelope: string, card: Card): Promise<boolean>;
}) {
  const [loaded, setLoaded] = useState<{ text: string; name: string } | null>(null);
  const header = loaded ? headerOf(loaded.text) : null;
  // The header names whose share it is: another holder's envelope is pointed out at once, so that
  // nobody is asked to insert someone else's card. (Main checks it all the same.)
  const someoneElse = header?.holder && header.holder.trim().toLowerCase() !== holder.name.trim().toLowerCase() ? header.holder : null;
  return (
    <div className="sealed-share" data-testid="sealed-share">
      <OpenFile kind="sealed-share" what={`sealed share of ${holder.name}`} only onLoaded={(text, name) => setLoaded({ text, name })} />
      {loaded && someoneElse ? (
        <p className="notice notice-warn" role="alert" data-testid="sealed-loaded">
          {loaded.name} holds {someoneElse}’s share, not {holder.name}’s. {holder.name}: load your own envelope. {someoneElse}’s envelope stays with {someoneElse}.
        </p>
      ) : null}
      {loaded && !someoneElse ? (
        <>
          <p className="status-ok" data-testid="sealed-loaded">
            ✓ Loaded {loaded.name}
            {header ? `: a share of set ${header.set}, sealed to the card ${header.card}.` : '.'} {holder.name}: insert that card, choose it and enter its PIN. The card opens the
            share; its words are not shown.
          </p>
          <ProofForm
            person={holder.person}
            name={holder.name}
            kind="card"
            workstationUri={workstationUri}
            submitText={`${verb} ${holder.name}’s share from the card`}
            busy={busy}
            onProof={async (proof) => ('card' in proof ? onSend(loaded.text, proof.card) : false)}
          />
          {failure}
        </>
      ) : null}
    </div>
  );
}

/** Two ways to give a share: type its words, or open the one sealed to the holder's card. */
export function ShareWay({ way, onWay, name }: { way: 'typed' | 'sealed'; onWay(w: 'typed' | 'sealed'): void; name: string }) {
  return (
    <fieldset className="share-way" data-testid="share-way">
      <legend>How does {name} give the share?</legend>
      <label>
        <input type="radio" name="share-way" checked={way === 'typed'} onChange={() => onWay('typed')} /> Type the words from the sheet
      </label>
      <label>
        <input type="radio" name="share-way" checked={way === 'sealed'} onChange={() => onWay('sealed')} /> Open the share sealed to {name}’s card (an envelope file)
      </label>
    </fieldset>
  );
}
