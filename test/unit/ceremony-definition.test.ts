// Ceremony definitions: the schema and the linter (pure, before any PKCS#11 call).
import { describe, expect, it } from 'vitest';
import { BUILTIN_DEFINITIONS, builtinDefinition } from '../../shared/ceremony/builtin';
import { resolveSteps, type CeremonyDefinition } from '../../shared/ceremony/definition';
import { checkDefinition, lintDefinition } from '../../shared/ceremony/lint';
import { paramProblems } from '../../shared/ceremony/params';
import { defaultPolicy, practicePolicy } from '../../shared/ceremony/policy';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const def = (type: string): CeremonyDefinition => clone(builtinDefinition(type)!);
const messages = (d: unknown, policy = defaultPolicy()) => {
  const r = checkDefinition(d, policy);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('built-in definitions', () => {
  it('pass the schema and the linter under the default and the practice policy', () => {
    for (const d of BUILTIN_DEFINITIONS) {
      expect(messages(d), d.id).toEqual([]);
      expect(messages(d, practicePolicy()), d.id).toEqual([]);
    }
  });

  it('resolve "policy" thresholds from the workstation policy', () => {
    const steps = resolveSteps(def('key-generation'), () => 3);
    expect(steps.find((s) => s.kind === 'generate')!.quorum).toEqual({ role: 'custodian', threshold: 3 });
    expect(steps.find((s) => s.kind === 'generate')!.witness).toBe(true);
    expect(steps.find((s) => s.kind === 'roll-call')!.witness).toBe(false);
  });
});

describe('the linter refuses definitions that break the state model', () => {
  it('a backup without a verification round', () => {
    const d = def('backup');
    d.steps = d.steps.filter((s) => s.kind !== 'verify-shares');
    expect(messages(d).join('\n')).toMatch(/verify-shares.*verification round/);
  });

  it('creating components without the check-and-seal round, with the seal before the print, or with no quorum on making them', () => {
    const noSeal = def('component-creation');
    noSeal.steps = noSeal.steps.filter((s) => s.kind !== 'seal-components');
    expect(messages(noSeal).join('\n')).toMatch(/seal-components/);
    const swapped = def('component-creation');
    const i = swapped.steps.findIndex((s) => s.kind === 'print-components');
    [swapped.steps[i], swapped.steps[i + 1]] = [swapped.steps[i + 1]!, swapped.steps[i]!];
    expect(messages(swapped)).not.toEqual([]);
    const noQuorum = def('component-creation');
    delete noQuorum.steps.find((s) => s.kind === 'make-components')!.quorum;
    expect(messages(noQuorum).join('\n')).toMatch(/make-components/);
  });

  it('a verification round after the commit', () => {
    const d = def('backup');
    const v = d.steps.findIndex((s) => s.kind === 'verify-shares');
    const [step] = d.steps.splice(v, 1);
    d.steps.splice(d.steps.length - 1, 0, step!);
    expect(messages(d).join('\n')).toMatch(/out of order/);
  });

  it('a generation without a quorum, or with fewer approvals than the policy', () => {
    const d = def('key-generation');
    delete d.steps.find((s) => s.kind === 'generate')!.quorum;
    expect(messages(d).join('\n')).toMatch(/generate.*needs a quorum/);
    const e = def('key-generation');
    e.steps.find((s) => s.kind === 'generate')!.quorum = { role: 'custodian', threshold: 1 };
    expect(messages(e).join('\n')).toMatch(/at least 2 custodian approvals/);
    expect(messages(e, practicePolicy())).toEqual([]);
  });

  it('a generation without a witness where the policy asks for one', () => {
    const d = def('key-generation');
    delete d.roles.witness;
    expect(messages(d).join('\n')).toMatch(/requires a witness/);
    const policy = { ...defaultPolicy(), witnessRequired: [] };
    // Without the policy rule the sign-off still needs a witness to do it.
    expect(messages(d, policy).join('\n')).toMatch(/done by the witness/);
  });

  it('a change before the fingerprint was read, and an approval before it', () => {
    const d = def('key-generation');
    const g = d.steps.findIndex((s) => s.kind === 'generate');
    const f = d.steps.findIndex((s) => s.kind === 'read-fingerprint');
    [d.steps[g], d.steps[f]] = [d.steps[f]!, d.steps[g]!];
    const out = messages(d).join('\n');
    expect(out).toMatch(/must come after the fingerprint/);
    expect(out).toMatch(/quorum step must come after "read-fingerprint"/);
  });

  it('duplicate step ids, unknown kinds for the type, a missing roll call or sign-off', () => {
    const d = def('key-generation');
    d.steps[2]!.id = d.steps[1]!.id;
    d.steps.splice(3, 0, { id: 'split', kind: 'split' });
    expect(messages(d).join('\n')).toMatch(/used twice[\s\S]*cannot have a "split" step/);
    const e = def('key-generation');
    e.steps = e.steps.filter((s) => s.kind !== 'roll-call' && s.kind !== 'sign-off');
    const out = messages(e).join('\n');
    expect(out).toMatch(/roll call/);
    expect(out).toMatch(/sign-off/);
  });

  it('rules that loosen the policy', () => {
    const d = def('backup');
    d.rules = { witnessMayBeCustodian: true, passphraseCredentials: 'allowed' };
    expect(messages(d).join('\n')).toMatch(/cannot allow it/);
    expect(messages(d, { ...defaultPolicy(), passphraseCredentials: 'forbidden' }).join('\n')).toMatch(/cannot allow them/);
  });

  it('unknown or ill-typed parameters', () => {
    const d = def('key-generation');
    d.parameters = { keyType: { fixed: 'aes-512' }, colour: { default: 'blue' } };
    const out = messages(d).join('\n');
    expect(out).toMatch(/parameters\.keyType\.fixed/);
    expect(out).toMatch(/no parameter "colour"/);
  });

  it('schema problems come back with their paths, and no exception', () => {
    expect(messages({ format: 'nope' }).length).toBeGreaterThan(3);
    expect(messages({ ...def('backup'), steps: [{ id: 'Bad Id', kind: 'teleport' }] }).join('\n')).toMatch(/steps\[0\]\.id[\s\S]*steps\[0\]\.kind/);
    expect(messages(null)).not.toEqual([]);
    expect(lintDefinition(def('backup'), defaultPolicy())).toEqual([]);
  });
});

describe('parameter rules', () => {
  it('key generation: usages of the type, a CSR only for asymmetric keys', () => {
    const base = { keyType: 'aes-256', label: 'K', usages: ['derive'], extractable: false, purpose: 'data-encryption', tags: [], custodians: [], csrSubject: 'CN=x' };
    const out = paramProblems('key-generation', base).join('\n');
    expect(out).toMatch(/cannot be used for "derive"/);
    expect(out).toMatch(/asymmetric/);
  });
  it('backup: thresholds, XOR needs all, holders unique', () => {
    expect(paramProblems('backup', { targets: ['archive-kek'], scheme: 'slip39', threshold: 4, holders: ['a', 'b', 'c'] }).join()).toMatch(/larger than the number of holders/);
    expect(paramProblems('backup', { targets: ['archive-kek'], scheme: 'xor', threshold: 2, holders: ['a', 'b', 'c'] }).join()).toMatch(/every component/);
    expect(paramProblems('backup', { targets: ['archive-kek'], scheme: 'slip39', threshold: 2, holders: ['a', 'a', 'c'] }).join()).toMatch(/named twice/);
    expect(paramProblems('backup', { targets: ['archive-kek'], scheme: 'slip39', threshold: 2, holders: ['a', 'b', 'c'] })).toEqual([]);
    // Sealed to the holders' cards: planned like SLIP-39 (each holder's enrolled card is checked at resolve, plan.ts).
    expect(paramProblems('backup', { targets: ['archive-kek'], scheme: 'sealed', threshold: 2, holders: ['a', 'b', 'c'] })).toEqual([]);
    expect(paramProblems('backup', { targets: ['archive-kek'], scheme: 'sealed', threshold: 4, holders: ['a', 'b', 'c'] }).join()).toMatch(/larger than the number of holders/);
  });
});

describe('canonical JSON', () => {
  it('sorts keys, has no white space, refuses floats and bytes; the pretty form holds the same value', async () => {
    const { canonicalJson, canonicalJsonPretty, fingerprintWords, fingerprintGroups } = await import('../../shared/ceremony/canonical');
    const v = { b: [1, { z: null, a: 'x\u2028y' }], a: true, '10': 'n', '2': 'm', u: undefined };
    expect(canonicalJson(v)).toBe('{"10":"n","2":"m","a":true,"b":[1,{"a":"x\\u2028y","z":null}]}');
    expect(JSON.parse(canonicalJsonPretty(v))).toEqual(JSON.parse(canonicalJson(v)));
    expect(canonicalJsonPretty({ a: [], b: {} })).toBe('{\n  "a": [],\n  "b": {}\n}');
    expect(() => canonicalJson({ x: 1.5 })).toThrow(/safe integers/);
    expect(() => canonicalJson({ x: new Uint8Array(1) })).toThrow(/hex/);
    const fp = 'ab'.repeat(32);
    expect(fingerprintWords(fp)).toHaveLength(8);
    expect(fingerprintWords(fp)).toEqual(fingerprintWords(fp));
    expect(fingerprintWords('ac' + fp.slice(2))).not.toEqual(fingerprintWords(fp));
    expect(fingerprintGroups(fp).split(' ')).toHaveLength(16);
  });
});
