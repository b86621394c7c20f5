import type { RunView } from '../../../../shared/ceremony/view';
import { algorithmName, day } from '../../archive/words';
import { USAGE_WORDS, type KeyUsageName } from '../../../../shared/keys';
import { hexGroups } from '../words';

const usageWords = (u: string) => USAGE_WORDS[u as KeyUsageName]?.toLowerCase() ?? u;

/** The rotation's plan as the run view carries it (electron/services/ceremony/plan-rotation.ts). */
interface RotationParamsView {
  keyType: string;
  label: string;
  usages: string[];
  key: { label: string; algorithm: string; policy: { originatorUsageMonths: number; recipientExtraMonths: number } };
  old: { version: number; checkValue: string | null; fingerprint: string | null; rotationDue: string | null; object: { label: string } | null };
  next: { version: number };
}

/**
 * The head of a rotation run, at every step: which key, the version being replaced and its check
 * value (what the fingerprint covers), and what the new version will be. Each person can compare
 * it with the Archive screen before approving.
 */
export function RotationSubject({ view }: { view: RunView }) {
  if (view.type !== 'rotation') return null;
  const p = view.params as unknown as RotationParamsView;
  const id = p.old.checkValue ? hexGroups(p.old.checkValue, 5) : p.old.fingerprint ? `${hexGroups(p.old.fingerprint.slice(0, 16))} …` : '—';
  return (
    <dl className="props subject" data-testid="run-subject">
      <div className="tech-row">
        <dt>Key</dt>
        <dd>
          “{p.key.label}” · {algorithmName(p.key.algorithm)} · cryptoperiod {p.key.policy.originatorUsageMonths} months protecting, then {p.key.policy.recipientExtraMonths} more decrypting
        </dd>
      </div>
      <div className="tech-row">
        <dt>Replacing</dt>
        <dd>
          version {p.old.version}, check value <span className="mono">{id}</span>
          {p.old.rotationDue ? ` · rotation due ${day(p.old.rotationDue)}` : ''}
          {p.old.object ? ` · on the token as “${p.old.object.label}”` : ' · not on this token'}
        </dd>
      </div>
      <div className="tech-row">
        <dt>New version</dt>
        <dd>
          version {p.next.version}, generated in the HSM as “{p.label}” · {algorithmName(p.keyType)} · for: {p.usages.map(usageWords).join('; ')}
        </dd>
      </div>
      <div className="tech-row">
        <dt>Afterwards</dt>
        <dd>version {p.next.version} active; version {p.old.version} deactivated — it decrypts and verifies old data, and no longer encrypts, signs or wraps</dd>
      </div>
    </dl>
  );
}
