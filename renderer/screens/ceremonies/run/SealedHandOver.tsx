import { useState } from 'react';
import type { SealedView } from '../../../../shared/ceremony/contract';
import { SaveButton } from '../../../components/SaveButton';
import { Failure, type PanelProps } from './Panels';
import { ProofForm } from './Proof';
import { SealedShareInput } from './SealedShareInput';

// A sealed backup's hand-over, in the window: the holder whose turn it is chooses their card and
// enters its PIN; main seals their share to a key on that card (found there, or made there the first
// time), opens it once in the card, and keeps the envelope until it is saved (the save dialog, or the
// preview shell's save folder). The page gets back where it was sealed — never a word of the share;
// the PIN lives in the proof form's state only. Then the verification round: each holder loads the
// file they saved and opens it in their card again.

export function SealedHandOverPanel({ view, step, workstationUri, session }: PanelProps) {
  const input = view.current!.input;
  const holders = input.kind === 'hand-over' ? input.holders : [];
  const next = holders.find((h) => !h.done) ?? null;
  const [sealed, setSealed] = useState<SealedView | null>(null);
  // What was sealed belongs to one holder's turn.
  const mine = sealed && next && sealed.holder === next.person ? sealed : null;
  if (!next || !session) return <Failure step={step} title="The shares could not be sealed" />;
  const k = mine?.sealedTo;
  return (
    <div className="input-panel">
      <ol className="holder-turns" aria-label="Holders">
        {holders.map((h, i) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === next.person ? 'turn-now' : ''}>
            Share {i + 1}: {h.name} — {h.done ? '✓ sealed to their card and saved' : h.person === next.person ? 'now' : 'waiting'}
          </li>
        ))}
      </ol>
      {!mine ? (
        <>
          <p>
            {next.name}: insert your card{next.card ? ` “${next.card.label}” (serial ${next.card.serial})` : ''}, choose it and enter its PIN. Your share is sealed to a key on
            that card — made there the first time — and opened once in the card to prove it. Its words are never shown.
          </p>
          <ProofForm
            person={next.person}
            name={next.name}
            kind="card"
            workstationUri={workstationUri}
            submitText={`Seal ${next.name}’s share to the card`}
            busy={step.busy}
            onProof={async (proof) => {
              if (!('card' in proof)) return false;
              const r = await step.act({ kind: 'seal-share', holder: next.person, card: proof.card }, null);
              if (r?.ok && r.value.sealed) setSealed(r.value.sealed);
              return !!r?.ok;
            }}
          />
        </>
      ) : (
        <div data-testid="sealed-done">
          <p className="status-ok">
            ✓ {mine.name}’s share {mine.index} of {mine.of} is sealed to {k!.generated ? 'a sealing key made now on' : 'the sealing key on'} card “{k!.tokenLabel}” (serial {k!.tokenSerial}),
            key fingerprint <span className="mono">{k!.spkiSha256.slice(0, 16)}…</span>, and it opened in the card.
          </p>
          <p>{mine.name}: save the envelope to your own media (a USB stick you keep). It can be opened only in your card, with its PIN.</p>
          <SaveButton
            artefact={{ kind: 'sealed-envelope', module: session.module, token: session.token, run: view.run, holder: next.person }}
            label={`Save ${mine.name}’s sealed share…`}
            what={`sealed share of ${mine.name}`}
            onSaved={() => void step.act({ kind: 'envelope-saved', holder: next.person }, null).then((r) => r?.ok && setSealed(null))}
          />
        </div>
      )}
      <Failure step={step} title="Not sealed" />
    </div>
  );
}

export function SealedVerifyPanel({ view, actor, step, workstationUri }: PanelProps) {
  const input = view.current!.input;
  const holders = input.kind === 'verify-share' ? input.holders : [];
  const [round, setRound] = useState(0);
  if (!actor) return <Failure step={step} title="The verification round did not go on" />;
  const send = async (envelope: string, card: { module: string; token: string; pin: string }) => {
    if (step.busy) return false;
    const r = await step.act({ kind: 'unseal-share', holder: actor.person, envelope, card }, null);
    setRound((n) => n + 1);
    return !!r?.ok;
  };
  return (
    <div className="input-panel">
      <ol className="holder-turns" aria-label="Holders">
        {holders.map((h, i) => (
          <li key={h.person} className={h.done ? 'turn-done' : h.person === actor.person ? 'turn-now' : ''}>
            Share {i + 1}: {h.name} — {h.done ? '✓ opens in their card' : h.person === actor.person ? 'now' : 'waiting'}
          </li>
        ))}
      </ol>
      <SealedShareInput key={`${actor.person}:${round}`} holder={actor} workstationUri={workstationUri} busy={step.busy} verb="Open" failure={<Failure step={step} title={`${actor.name}’s envelope did not pass`} />} onSend={send} />
    </div>
  );
}
