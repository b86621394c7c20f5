import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { GENERATE_STEPS, generateSentence, isPairType, MAX_LABEL, type GenerateDraft, type GenerateStepId } from '../../../shared/keygen';
import { EXTRACTABLE_WORDS, KEY_TYPES, type GeneratedKey, type KeyTypeInfo, type KeyUsageName } from '../../../shared/keys';
import { nextStep, previousStep, stepIndex } from '../../../shared/steps';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Field } from '../../components/Field';
import { StepList } from '../../components/Steps';
import { useAction } from '../../hooks/useAction';
import { typeInfo, usagePhrase } from '../../keyWords';
import { useKeys } from '../../stores/keys';
import { KeyAttributes, KeyIdentity } from './KeyDetails';

// Generating a key, one decision at a time: algorithm, uses, whether it may ever leave the token,
// label; then a sentence naming exactly what will be created, and only then the token is asked.
// The steps, their rules and the sentence are shared/keygen.ts; this is how they look.

export function GenerateWizard({ tokenLabel, onClose }: { tokenLabel: string; onClose(): void }) {
  const { caps, capsError, capsLoading, keys } = useKeys();
  const [step, setStep] = useState<GenerateStepId | 'done'>('type');
  const [type, setType] = useState<KeyTypeInfo['type'] | null>(null);
  const [usages, setUsages] = useState<KeyUsageName[]>([]);
  const [extractable, setExtractable] = useState(false);
  const [label, setLabel] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const { busy, error, run, reset } = useAction();
  const [made, setMade] = useState<GeneratedKey | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const ids = useId();

  // Each step announces itself: focus moves to its heading, so the keyboard starts there.
  useEffect(() => {
    heading.current?.focus();
  }, [step]);

  const t = type ? typeInfo(type) : undefined;
  const supported = new Set(caps?.keyTypes ?? []);
  const draft: GenerateDraft = { type, usages, extractable, label, taken: (keys ?? []).map((k) => k.label) };
  const previous = step === 'done' ? null : previousStep(GENERATE_STEPS, step, draft);

  const go = (to: GenerateStepId) => {
    setProblem(null);
    reset();
    setStep(to);
  };
  const chooseType = (next: KeyTypeInfo) => {
    setType(next.type);
    setUsages([next.usages[0]!]);
  };

  // Where Next goes is the table's decision; the step only shows why it cannot go yet.
  const next = (e: FormEvent) => {
    e.preventDefault();
    if (step === 'done') return;
    const to = nextStep(GENERATE_STEPS, step, draft);
    if (!to.ok) return setProblem(to.problem);
    if (step === 'label') setLabel(label.trim());
    if (to.step) go(to.step);
  };

  const generate = async (e: FormEvent) => {
    e.preventDefault();
    if (!t || busy) return;
    const r = await run(() => useKeys.getState().generate({ type: t.type, label, usages, extractable }));
    if (!r?.ok) return;
    setMade(r.value);
    setStep('done');
  };

  const restart = () => {
    setType(null);
    setUsages([]);
    setExtractable(false);
    setLabel('');
    setMade(null);
    go('type');
  };

  const stepHeading = (text: ReactNode) => (
    <h3 ref={heading} tabIndex={-1} className="step-title">
      {text}
    </h3>
  );

  const nav = (nextText = 'Next') => (
    <div className="toolbar">
      {previous ? (
        <button type="button" onClick={() => go(previous)}>
          Back
        </button>
      ) : (
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      )}
      <button type="submit" className="primary">
        {nextText}
      </button>
    </div>
  );

  return (
    <section className="panel wizard" aria-labelledby="gen-h">
      <h2 id="gen-h">Generate a key on “{tokenLabel}”</h2>
      <StepList steps={GENERATE_STEPS} current={step === 'done' ? GENERATE_STEPS.length : stepIndex(GENERATE_STEPS, step)} label="Steps" />

      {step === 'type' ? (
        <form onSubmit={next} className="wizard-step" aria-label="Step 1: algorithm">
          {stepHeading('Which kind of key?')}
          {capsLoading && !caps ? <p role="status">Asking the token which algorithms it offers…</p> : null}
          {capsError ? <ErrorNotice error={capsError} title="Custos could not read what this token can do" /> : null}
          {(['symmetric', 'asymmetric'] as const).map((family) => (
            <fieldset key={family} className="choices choices-grid">
              <legend>{family === 'symmetric' ? 'Secret keys (symmetric)' : 'Key pairs (a private and a public key)'}</legend>
              {KEY_TYPES.filter((k) => k.family === family).map((k) => {
                const ok = supported.has(k.type);
                return (
                  <label key={k.type} className={`choice ${ok ? '' : 'choice-disabled'} ${type === k.type ? 'choice-on' : ''}`}>
                    <input
                      type="radio"
                      name="keytype"
                      value={k.type}
                      checked={type === k.type}
                      disabled={!ok}
                      onChange={() => chooseType(k)}
                      aria-labelledby={`${ids}-${k.type}-t`}
                      aria-describedby={`${ids}-${k.type}-n`}
                    />
                    <span>
                      <span className="choice-title" id={`${ids}-${k.type}-t`}>
                        {k.title}
                      </span>
                      <span className="choice-note" id={`${ids}-${k.type}-n`}>
                        {ok ? k.note : caps ? 'Not offered: this token lacks the mechanism to generate it.' : 'Waiting for the token…'}
                      </span>
                    </span>
                  </label>
                );
              })}
            </fieldset>
          ))}
          {problem ? <p className="field-error" role="alert">{problem}</p> : null}
          {nav()}
        </form>
      ) : null}

      {step === 'uses' && t ? (
        <form onSubmit={next} className="wizard-step" aria-label="Step 2: uses">
          {stepHeading(`What will the ${t.title} key be used for?`)}
          <p className="hint">Choose only what it needs: a key that may only sign cannot be misused to decrypt.</p>
          <fieldset className="choices">
            <legend>Uses</legend>
            {t.usages.map((u) => (
              <label key={u} className={`choice ${usages.includes(u) ? 'choice-on' : ''}`}>
                <input
                  type="checkbox"
                  checked={usages.includes(u)}
                  onChange={(e) => setUsages(e.target.checked ? t.usages.filter((x) => x === u || usages.includes(x)) : usages.filter((x) => x !== u))}
                />
                <span className="choice-title">{usagePhrase(u, t.family === 'symmetric')}</span>
              </label>
            ))}
          </fieldset>
          {problem ? <p className="field-error" role="alert">{problem}</p> : null}
          {nav()}
        </form>
      ) : null}

      {step === 'export' && t ? (
        <form onSubmit={next} className="wizard-step" aria-label="Step 3: export">
          {stepHeading('May the key ever leave the token?')}
          <fieldset className="choices">
            <legend>Exportability</legend>
            <label className={`choice ${!extractable ? 'choice-on' : ''}`}>
              <input
                type="radio"
                name="extractable"
                checked={!extractable}
                onChange={() => setExtractable(false)}
                aria-labelledby={`${ids}-xno-t`}
                aria-describedby={`${ids}-xno-n`}
              />
              <span>
                <span className="choice-title" id={`${ids}-xno-t`}>
                  No, never (recommended)
                </span>
                <span className="choice-note" id={`${ids}-xno-n`}>
                  {EXTRACTABLE_WORDS.no}
                </span>
              </span>
            </label>
            <label className={`choice ${extractable ? 'choice-on' : ''}`}>
              <input
                type="radio"
                name="extractable"
                checked={extractable}
                onChange={() => setExtractable(true)}
                aria-labelledby={`${ids}-xyes-t`}
                aria-describedby={`${ids}-xyes-n`}
              />
              <span>
                <span className="choice-title" id={`${ids}-xyes-t`}>
                  Yes, but only wrapped under another key
                </span>
                <span className="choice-note" id={`${ids}-xyes-n`}>
                  {EXTRACTABLE_WORDS.yes}
                </span>
              </span>
            </label>
          </fieldset>
          <p className="hint">This is fixed when the key is made: the token will not let it be changed later.</p>
          {nav()}
        </form>
      ) : null}

      {step === 'label' && t ? (
        <form onSubmit={next} className="wizard-step" aria-label="Step 4: label">
          {stepHeading('What is the key called?')}
          <Field
            label="Label"
            hint={`The name custodians read aloud and type to confirm. Unique on this token, at most ${MAX_LABEL} characters.`}
            value={label}
            onChange={(e) => {
              setLabel(e.target.value);
              setProblem(null);
            }}
            maxLength={MAX_LABEL}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={problem !== null}
          />
          {problem ? <p className="field-error" role="alert">{problem}</p> : null}
          {nav()}
        </form>
      ) : null}

      {step === 'confirm' && t ? (
        <form onSubmit={generate} className="wizard-step" aria-label="Step 5: confirm">
          {stepHeading('Check, then confirm')}
          <p className="confirm-sentence" data-testid="generate-sentence">
            {generateSentence(t, label, tokenLabel, extractable)}
          </p>
          <dl className="props">
            <dt>Uses</dt>
            <dd>{usages.map((u) => usagePhrase(u, t.family === 'symmetric')).join('; ')}</dd>
            <dt>Leaves the token</dt>
            <dd>{extractable ? EXTRACTABLE_WORDS.yes : EXTRACTABLE_WORDS.no}</dd>
          </dl>
          {busy ? (
            <p role="status" className="status-busy">
              The token is generating the key{t.type.startsWith('rsa') ? ': RSA keys can take up to a minute' : ''}. This cannot be interrupted once
              started.
            </p>
          ) : null}
          {error ? <ErrorNotice error={error} title="The key was not generated" /> : null}
          <div className="toolbar">
            <button type="button" onClick={() => go(previous ?? 'label')} disabled={busy}>
              Back
            </button>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Generating…' : isPairType(t) ? 'Generate key pair' : 'Generate key'}
            </button>
          </div>
        </form>
      ) : null}

      {step === 'done' && made ? (
        <div className="wizard-step">
          {stepHeading(`“${made.label}” was created`)}
          <p className="status-ok" role="status">
            The {made.kind === 'secret' ? 'key' : 'key pair'} is on token “{tokenLabel}”. Write its {made.fingerprint ? 'fingerprint' : 'check value'} in the
            ceremony record.
          </p>
          <KeyIdentity detail={made} />
          <KeyAttributes detail={made} />
          <div className="toolbar">
            <button type="button" className="primary" onClick={onClose}>
              Inspect this key
            </button>
            <button type="button" onClick={restart}>
              Generate another key
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
}
