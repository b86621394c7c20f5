import type { RunView } from '../../../../shared/ceremony/view';
import { USAGE_WORDS, type KeyUsageName } from '../../../../shared/keys';
import { useCeremony } from '../../../stores/ceremony';
import { algorithmName, day } from '../../archive/words';
import { useWorkstation } from '../plan/Participants';
import { hexGroups, namesList, schemeWords, targetTitle } from '../words';
import { DestructionSubject } from './Destruction';
import { OneButton, type PanelProps } from './Panels';
import { SaveButton } from '../../../components/SaveButton';
import { exportTargetWords, outcomeOf, restoreView, retrievalView } from './params';
import { RotationSubject } from './RotationSubject';

// What a restore, a drill or a retrieval is about, at every step: the backup and its keys, who
// enters shares and into which token; or the archived version and — large — the purpose the
// custodians approve it for. Then the retrieval's own step and what it brought back.

const usageWords = (u: string) => USAGE_WORDS[u as KeyUsageName]?.toLowerCase() ?? u;

/** The head of a restore, drill or retrieval run: what this ceremony works on. */
export function RunSubject({ view }: { view: RunView }) {
  const backups = useCeremony((s) => s.record?.backups ?? []);
  const r = restoreView(view);
  if (r) {
    const b = backups.find((x) => x.run === r.backupRun);
    return (
      <dl className="props subject" data-testid="run-subject">
        <div className="tech-row">
          <dt>Backup</dt>
          <dd>
            {b ? `made ${day(b.at)}` : 'made'} (ceremony {r.backupRun.slice(0, 8)}) · {schemeWords(r.scheme, r.threshold, b?.holders.length ?? r.holders.length)}
          </dd>
        </div>
        <div className="tech-row">
          <dt>Keys</dt>
          <dd>{r.keys.map((k) => targetTitle(k.target)).join(', ')}</dd>
        </div>
        <div className="tech-row">
          <dt>{r.reshare ? 'Old shares entered by' : r.audit ? 'Shares checked by' : 'Shares entered by'}</dt>
          <dd>{namesList(r.holders.map((h) => h.name))}</dd>
        </div>
        {r.audit ? (
          <div className="tech-row">
            <dt>Rebuilt</dt>
            <dd>Nothing: each share is checked on its own against the backup’s record, and not kept.</dd>
          </div>
        ) : r.reshare ? (
          <>
            <div className="tech-row">
              <dt>New shares for</dt>
              <dd>
                {namesList(r.reshare.holders)} · {schemeWords(r.reshare.scheme, r.reshare.threshold, r.reshare.holders.length)}
              </dd>
            </div>
            <div className="tech-row">
              <dt>Old shares</dt>
              <dd>
                {r.reshare.rotate
                  ? 'Useless to Custos once the new set is recorded: the Backup Key is rotated, the keys re-wrapped under the new one, the old wrapped blobs shredded from the archive file. Bundles exported earlier still hold them: each old holder destroys their sheet and attests it at the end.'
                  : 'Stay valid until the Backup Key is rotated (a re-share that rotates it): each old holder destroys their sheet and attests it at the end.'}
              </dd>
            </div>
          </>
        ) : (
          <div className="tech-row">
            <dt>{r.drill ? 'Kept' : 'Restored into'}</dt>
            <dd>{r.drill ? 'Nothing: a drill unwraps into a session only and destroys what it unwrapped.' : r.destination ? `token “${r.destination}”` : 'the workstation token'}</dd>
          </div>
        )}
      </dl>
    );
  }
  if (view.type === 'destruction') return <DestructionSubject view={view} />;
  if (view.type === 'rotation') return <RotationSubject view={view} />;
  const q = retrievalView(view);
  if (!q) return null;
  return (
    <div className="subject" data-testid="run-subject">
      <PurposeBox view={view} />
      <dl className="props">
        <div className="tech-row">
          <dt>Version</dt>
          <dd>
            version {q.version.version} of “{q.version.label}” · {algorithmName(q.version.algorithm)} · check value{' '}
            <span className="mono">{q.version.checkValue ? hexGroups(q.version.checkValue, 5) : q.version.fingerprint ? `${hexGroups(q.version.fingerprint.slice(0, 16))} …` : '—'}</span>
          </dd>
        </div>
        <div className="tech-row">
          <dt>{q.export ? 'Exported' : 'Into'}</dt>
          <dd data-testid="retrieval-into">
            {q.export ? (
              <>{exportTargetWords(q.export)}; nothing stays on the token</>
            ) : (
              <>
                {q.into === 'token' ? 'a token object' : 'a session object'} “{q.label}”, for: {q.usages.map(usageWords).join('; ')}
                {q.validDays ? ` · for ${q.validDays} days` : ''}
                {q.maxUses ? ` · at most ${q.maxUses} uses` : ''}
              </>
            )}
          </dd>
        </div>
      </dl>
    </div>
  );
}

/** The purpose of a retrieval, as the custodians approve it: shown at every step, in the step itself. */
export function PurposeBox({ view, compact = false }: { view: RunView; compact?: boolean }) {
  const q = retrievalView(view);
  if (!q) return null;
  return (
    <div className={`purpose ${compact ? 'purpose-compact' : ''}`} data-testid={compact ? 'purpose-line' : 'purpose'}>
      <p className="purpose-label">
        Purpose of this retrieval of “{q.version.label}” version {q.version.version}
        <span className="purpose-note"> — part of the fingerprint: approvals are for this purpose only</span>
      </p>
      <p className="purpose-text">“{q.purpose}”</p>
    </div>
  );
}

/** The retrieval: named exactly, then "do it now" by the operator. */
export function RetrievePanel({ view, actor, step }: PanelProps) {
  const ws = useWorkstation();
  const q = retrievalView(view);
  if (!actor || !q) return null;
  const approved = view.approvals.filter((a) => a.step === view.current!.id);
  const token = ws.state === 'unknown' ? 'the workstation token' : `“${ws.label}”`;
  return (
    <OneButton step={step} testId="do-step" text="Retrieve the key now" busyText="Checking the archive row and unwrapping…" failure="The key was not retrieved" onClick={() => void step.act({ kind: 'run' }, actor.person)}>
      {approved.length ? (
        <p className="approved" data-testid="approved">
          ✓ Approved for this purpose by {namesList(approved.map((a) => a.name))}
        </p>
      ) : null}
      {q.export ? (
        <p className="confirm-sentence" data-testid="retrieve-sentence">
          Check the archived row’s MAC in the HSM, unwrap version {q.version.version} of “{q.version.label}” under the Archive KEK on {token} into a session object that can only be wrapped,
          compare its check value with the archived one, export it {exportTargetWords(q.export)}, and destroy the session object.
        </p>
      ) : (
      <p className="confirm-sentence" data-testid="retrieve-sentence">
        Check the archived row’s MAC in the HSM, unwrap version {q.version.version} of “{q.version.label}” under the Archive KEK into{' '}
        {q.into === 'token' ? 'a token object' : 'a session object'} “{q.label}” on {token} (never extractable; for: {q.usages.map(usageWords).join('; ')}), and compare its
        check value with the archived one.
      </p>
      )}
    </OneButton>
  );
}

/** What the retrieval brought back: the object's label, where it is, and the check value compared. */
export function Retrieved({ view }: { view: RunView }) {
  const ws = useWorkstation();
  const tokenLabel = ws.state === 'unknown' ? 'the workstation token' : ws.label;
  const out = outcomeOf(view, 'retrieve');
  if (!out) return null;
  const label = typeof out.label === 'string' ? out.label : '—';
  const check = typeof out.checkValue === 'string' ? out.checkValue : null;
  const until = typeof out.validUntil === 'string' ? out.validUntil : null;
  const q = retrievalView(view);
  if (out.into === 'export' && q?.export) {
    const file = (out.file ?? {}) as { bytes?: number; sha256?: string };
    return (
      <div className={`verdict ${out.checked === true ? 'verdict-ok' : 'verdict-neutral'}`} data-testid="retrieved">
        <p className="verdict-head">{out.checked === true ? '✓' : '!'} Exported: version {q.version.version} of “{q.version.label}”</p>
        <p data-testid="retrieved-where">
          It left the HSM only {exportTargetWords(q.export)}. It was unwrapped just for the wrap, in a session object that is now destroyed: nothing stays on “{tokenLabel}”.
        </p>
        {out.checked === true && check ? (
          <p>
            Its check value <span className="mono">{hexGroups(check, 5)}</span> was compared with the archived one before it was wrapped.
          </p>
        ) : null}
        <p>
          The wrapped key: {file.bytes ?? '—'} bytes, SHA-256 <span className="mono">{(file.sha256 ?? '').slice(0, 16)}…</span> (the evidence records this, never the key).
        </p>
        <SaveButton artefact={{ kind: 'wrapped-export', run: view.run }} label="Save the wrapped key…" what="wrapped key" />
      </div>
    );
  }
  return (
    <div className={`verdict ${out.checked === true ? 'verdict-ok' : 'verdict-neutral'}`} data-testid="retrieved">
      <p className="verdict-head">
        {out.checked === true ? '✓' : '!'} Retrieved: “{label}”
      </p>
      <p data-testid="retrieved-where">
        {out.into === 'token' ? (
          <>
            A <strong>token object on “{tokenLabel}”</strong>: it stays there, never extractable, until someone destroys it{until ? `; Custos stops using it after ${until}` : ''}
            {typeof out.maxUses === 'number' ? ` and after ${out.maxUses} uses` : ''} (the token keeps the date but does not enforce it).
          </>
        ) : (
          <>
            A <strong>session object on “{tokenLabel}”</strong>: it is gone when the app logs out of the token or closes.
          </>
        )}
      </p>
      {out.checked === true && check ? (
        <p>
          Its check value <span className="mono">{hexGroups(check, 5)}</span> is the one recorded when it was archived.
        </p>
      ) : null}
      {typeof out.note === 'string' ? <p>{out.note}</p> : null}
    </div>
  );
}
