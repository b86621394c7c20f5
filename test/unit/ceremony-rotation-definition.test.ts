// The rotation definition's state-model rules (shared/ceremony/lint.ts) and its parameters: pure,
// before any PKCS#11 call.
import { describe, expect, it } from 'vitest';
import { builtinDefinition } from '../../shared/ceremony/builtin';
import type { CeremonyDefinition } from '../../shared/ceremony/definition';
import { checkDefinition } from '../../shared/ceremony/lint';
import { PARAM_SCHEMAS } from '../../shared/ceremony/params';
import { defaultPolicy } from '../../shared/ceremony/policy';

const rotation = (): CeremonyDefinition => JSON.parse(JSON.stringify(builtinDefinition('custos/rotation')!)) as CeremonyDefinition;
const problems = (d: CeremonyDefinition) => {
  const r = checkDefinition(d, defaultPolicy());
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('the rotation definition', () => {
  it('is built in, and passes the linter', () => {
    expect(problems(rotation())).toEqual([]);
    expect(rotation().steps.map((s) => s.kind)).toEqual(['roll-call', 'login', 'check', 'read-fingerprint', 'generate', 'show-check-value', 'test-operation', 'archive', 'restrict-old', 'sign-off']);
  });

  it('refuses a rotation that never restricts the old version, or restricts it before the new one is archived', () => {
    const without = rotation();
    without.steps = without.steps.filter((s) => s.kind !== 'restrict-old');
    expect(problems(without).join('\n')).toMatch(/restrict-old/);
    const early = rotation();
    const i = early.steps.findIndex((s) => s.kind === 'restrict-old');
    const [step] = early.steps.splice(i, 1);
    early.steps.splice(early.steps.findIndex((s) => s.kind === 'generate'), 0, step!);
    expect(problems(early).length).toBeGreaterThan(0);
  });

  it('refuses a generation without the quorum', () => {
    const d = rotation();
    delete d.steps.find((s) => s.kind === 'generate')!.quorum;
    expect(problems(d).length).toBeGreaterThan(0);
  });

  it('takes the key and nothing it can read from the archive', () => {
    const schema = PARAM_SCHEMAS.rotation;
    expect(schema.safeParse({ key: 'Payments DEK' }).success).toBe(true);
    expect(schema.safeParse({}).success).toBe(false);
    expect(schema.safeParse({ key: '' }).success).toBe(false);
    expect(schema.safeParse({ key: 'Payments DEK', keyType: 'aes-128' }).success).toBe(false);
    expect(schema.safeParse({ key: 'Payments DEK', usages: ['teleport'] }).success).toBe(false);
  });
});

describe('the KEK rotation parameters', () => {
  it('a check value YAML read as a number (unquoted 12e45678) is refused with the hint to quote it', () => {
    const r = PARAM_SCHEMAS['kek-rotation'].safeParse({ kekCheck: 1.2e46, versions: 3 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('in quotes');
    expect(PARAM_SCHEMAS['kek-rotation'].safeParse({ kekCheck: '12e45678', versions: 3 }).success).toBe(true);
  });
});
