// Generating a key as a flow (shared/keygen.ts): the wizard's step table, the label rule and the
// sentence read aloud before the token is asked.
import { describe, expect, it } from 'vitest';
import { GENERATE_STEPS, generateSentence, isPairType, MAX_LABEL, newKeyLabelProblem, type GenerateDraft } from '../../shared/keygen';
import { KEY_TYPES, type KeyTypeName } from '../../shared/keys';
import { canEnter, currentStep, nextStep, previousStep } from '../../shared/steps';

const info = (t: KeyTypeName) => KEY_TYPES.find((k) => k.type === t)!;
const draft = (d: Partial<GenerateDraft> = {}): GenerateDraft => ({ type: null, usages: [], extractable: false, label: '', taken: [], ...d });
const decided = draft({ type: 'ec-p256', usages: ['sign'], label: 'Root CA 2026' });

describe('generateSentence', () => {
  it('names the key, its label, the token and what may become of it', () => {
    expect(generateSentence(info('ec-p256'), 'Root CA 2026', 'HSM1', false)).toBe(
      'Generate an EC P-256 key pair labelled “Root CA 2026” on token “HSM1”. It will never leave the token.',
    );
    expect(generateSentence(info('aes-256'), 'Payments KEK', 'HSM1', true)).toBe(
      'Generate an AES-256 key labelled “Payments KEK” on token “HSM1”. It can leave the token only wrapped under another key, never in plaintext.',
    );
  });

  it('says "a" or "an" as the title is read aloud', () => {
    const article = (t: KeyTypeName) => generateSentence(info(t), 'k', 'T', false).split(' ')[1];
    expect(article('rsa-3072')).toBe('an');
    expect(article('hmac-256')).toBe('an');
    expect(article('ed25519')).toBe('an');
    expect(article('ec-p384')).toBe('an');
    expect(article('tdes')).toBe('a');
  });

  it('calls asymmetric types key pairs and nothing else', () => {
    for (const t of KEY_TYPES) {
      expect(isPairType(t)).toBe(t.family === 'asymmetric');
      expect(generateSentence(t, 'k', 'T', false).includes('key pair')).toBe(t.family === 'asymmetric');
    }
  });
});

describe('newKeyLabelProblem', () => {
  it('accepts a new label, judged trimmed', () => {
    expect(newKeyLabelProblem('  Root CA 2026 ', ['Other'])).toBeNull();
    expect(newKeyLabelProblem('x'.repeat(MAX_LABEL), [])).toBeNull();
  });

  it('refuses empty, too long, control characters and a label already on the token', () => {
    expect(newKeyLabelProblem('   ', [])).toBe('Give the key a label.');
    expect(newKeyLabelProblem('x'.repeat(MAX_LABEL + 1), [])).toBe('A label is at most 128 characters.');
    expect(newKeyLabelProblem('a\tb', [])).toBe('A label cannot contain control characters.');
    expect(newKeyLabelProblem(' Root ', ['Root'])).toBe('A key labelled “Root” is already on this token. Labels name keys in ceremonies, so they must be unique.');
  });
});

describe('GENERATE_STEPS', () => {
  it('asks for each decision in turn, with the words the wizard shows', () => {
    expect(nextStep(GENERATE_STEPS, 'type', draft())).toEqual({ ok: false, problem: 'Choose an algorithm.' });
    expect(nextStep(GENERATE_STEPS, 'type', draft({ type: 'aes-256' }))).toEqual({ ok: true, step: 'uses' });
    expect(nextStep(GENERATE_STEPS, 'uses', draft({ type: 'aes-256' }))).toEqual({ ok: false, problem: 'Choose at least one use.' });
    expect(nextStep(GENERATE_STEPS, 'uses', draft({ type: 'aes-256', usages: ['wrap'] }))).toEqual({ ok: true, step: 'export' });
    expect(nextStep(GENERATE_STEPS, 'export', draft({ type: 'aes-256', usages: ['wrap'] }))).toEqual({ ok: true, step: 'label' });
    expect(nextStep(GENERATE_STEPS, 'label', { ...decided, taken: ['Root CA 2026'] })).toMatchObject({ ok: false });
    expect(nextStep(GENERATE_STEPS, 'label', decided)).toEqual({ ok: true, step: 'confirm' });
    expect(nextStep(GENERATE_STEPS, 'confirm', decided)).toEqual({ ok: true, step: null });
  });

  it('never opens the confirmation with a decision missing', () => {
    expect(canEnter(GENERATE_STEPS, 'confirm', decided)).toBe(true);
    expect(canEnter(GENERATE_STEPS, 'confirm', { ...decided, type: null })).toBe(false);
    expect(canEnter(GENERATE_STEPS, 'confirm', { ...decided, usages: [] })).toBe(false);
    expect(canEnter(GENERATE_STEPS, 'confirm', { ...decided, label: '' })).toBe(false);
    expect(currentStep(GENERATE_STEPS, { ...decided, usages: [] })).toBe('uses');
  });

  it('goes back one step at a time, and from the first step nowhere (the wizard offers Cancel)', () => {
    expect(previousStep(GENERATE_STEPS, 'confirm', decided)).toBe('label');
    expect(previousStep(GENERATE_STEPS, 'uses', draft({ type: 'aes-256' }))).toBe('type');
    expect(previousStep(GENERATE_STEPS, 'type', draft())).toBeNull();
  });
});
