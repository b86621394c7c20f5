// The definition linter: rules of the state model that a schema cannot express. It runs after the
// schema and before any PKCS#11 call; a definition with a problem is refused whole. Examples:
// no backup without a verification round before the commit, no quorum step before the fingerprint
// was read aloud, no generation without a witness where the policy asks for one.
import { z } from 'zod';
import { CEREMONY_TITLES, definitionSchema, STEP_KIND_INFO, type CeremonyDefinition, type CeremonyType, type StepKind } from './definition';
import { PARAM_SCHEMAS } from './params';
import type { Policy } from './policy';

export interface LintProblem {
  /** Where: "steps[3].quorum", "roles.witness", "parameters.label", or "" for the whole file. */
  path: string;
  message: string;
}

interface TypeRules {
  allowed: readonly StepKind[];
  /** Kinds that must appear, in this order (other allowed kinds may sit between them). */
  order: readonly StepKind[];
  /** Kinds that must carry a quorum of custodians. */
  quorum: readonly StepKind[];
  /** Kinds allowed before the fingerprint is read although they change something (bootstrap). */
  beforeFingerprint: readonly StepKind[];
}

const COMMON: readonly StepKind[] = ['roll-call', 'print', 'sign-off'];

export const TYPE_RULES: Readonly<Record<CeremonyType, TypeRules>> = Object.freeze({
  'workstation-setup': {
    allowed: [...COMMON, 'login', 'create-record', 'enrol', 'read-fingerprint', 'set-policy'],
    order: ['login', 'create-record', 'enrol', 'read-fingerprint', 'set-policy', 'sign-off'],
    quorum: ['set-policy'],
    // Nobody is enrolled yet, so nobody can approve: the record and the credentials are made under
    // the witness's eyes, then the new custodians approve the whole set-up (set-policy).
    beforeFingerprint: ['create-record', 'enrol'],
  },
  enrolment: {
    allowed: [...COMMON, 'login', 'enrol', 'read-fingerprint', 'set-policy'],
    order: ['login', 'enrol', 'read-fingerprint', 'set-policy', 'sign-off'],
    quorum: ['set-policy'],
    // New credentials are made first (they are part of what the current quorum approves); nothing
    // takes effect until set-policy, which needs the current quorum.
    beforeFingerprint: ['enrol'],
  },
  'key-generation': {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'generate', 'show-check-value', 'test-operation', 'archive', 'csr'],
    order: ['login', 'check', 'read-fingerprint', 'generate', 'show-check-value', 'sign-off'],
    quorum: ['generate'],
    beforeFingerprint: [],
  },
  backup: {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'make-backup-key', 'split', 'hand-over', 'verify-shares', 'commit-backup'],
    order: ['login', 'check', 'read-fingerprint', 'make-backup-key', 'split', 'hand-over', 'verify-shares', 'commit-backup', 'sign-off'],
    quorum: ['commit-backup'],
    beforeFingerprint: [],
  },
  restore: {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'enter-shares', 'rebuild-backup-key', 'unwrap-targets'],
    order: ['login', 'check', 'read-fingerprint', 'enter-shares', 'rebuild-backup-key', 'unwrap-targets', 'sign-off'],
    // Bringing keys back into an HSM is approved by the quorum before any share is entered.
    quorum: ['unwrap-targets'],
    beforeFingerprint: [],
  },
  'restore-drill': {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'enter-shares', 'rebuild-backup-key', 'unwrap-targets'],
    order: ['login', 'check', 'read-fingerprint', 'enter-shares', 'rebuild-backup-key', 'unwrap-targets', 'sign-off'],
    // A drill imports nothing lasting (session objects, destroyed): the holders' shares are the quorum.
    quorum: [],
    beforeFingerprint: [],
  },
  retrieval: {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'retrieve', 'show-check-value'],
    order: ['login', 'check', 'read-fingerprint', 'retrieve', 'sign-off'],
    quorum: ['retrieve'],
    beforeFingerprint: [],
  },
  // Forming a key from XOR components (PCI PIN / X9.24 style): every component checked on entry,
  // the key formed under the quorum's approval.
  'component-form': {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'enter-components', 'form-key'],
    order: ['login', 'check', 'read-fingerprint', 'enter-components', 'form-key', 'sign-off'],
    quorum: ['form-key'],
    beforeFingerprint: [],
  },
  // A share audit checks each share alone against the record: nothing is rebuilt, nothing changes
  // in the HSM, so no quorum; each holder proves presence at the roll call and the witness signs off.
  'share-audit': {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'audit-shares'],
    order: ['check', 'read-fingerprint', 'audit-shares', 'sign-off'],
    quorum: [],
    beforeFingerprint: [],
  },
  // A re-share rebuilds the Backup Key from the old set and splits it again: the same verification
  // round as a backup before anything is recorded, and the quorum approves before any share is typed.
  reshare: {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'enter-shares', 'rebuild-backup-key', 'split', 'hand-over', 'verify-shares', 'commit-reshare', 'attest-destroyed'],
    order: ['login', 'check', 'read-fingerprint', 'enter-shares', 'rebuild-backup-key', 'split', 'hand-over', 'verify-shares', 'commit-reshare', 'sign-off'],
    quorum: ['commit-reshare'],
    beforeFingerprint: [],
  },
  destruction: {
    // The check step finds the keys, their copies and what depends on them, and raises the
    // exceptions the destroy step waits for; it cannot be left out.
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'destroy'],
    order: ['login', 'check', 'read-fingerprint', 'destroy', 'sign-off'],
    quorum: ['destroy'],
    beforeFingerprint: [],
  },
  rotation: {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'generate', 'show-check-value', 'test-operation', 'archive', 'restrict-old'],
    // The new version is archived (and so active) before the old one stops protecting: there is
    // never a moment with no version able to protect (SP 800-57 Pt 1 §5.3.4).
    order: ['login', 'check', 'read-fingerprint', 'generate', 'show-check-value', 'archive', 'restrict-old', 'sign-off'],
    quorum: ['generate'],
    beforeFingerprint: [],
  },
  // Creating a key as XOR components: made under the quorum, each sheet printed for its holder
  // alone, checked and sealed before the ceremony ends (PCI PIN Req. 20, X9.24-1 components).
  'component-creation': {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'make-components', 'print-components', 'seal-components', 'archive'],
    order: ['login', 'check', 'read-fingerprint', 'make-components', 'print-components', 'seal-components', 'sign-off'],
    quorum: ['make-components'],
    beforeFingerprint: [],
  },
  'kek-rotation': {
    allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'rotate-kek'],
    order: ['login', 'check', 'read-fingerprint', 'rotate-kek', 'sign-off'],
    quorum: ['rotate-kek'],
    beforeFingerprint: [],
  },
  'workstation-key-rotation': { allowed: [...COMMON, 'login', 'check', 'read-fingerprint', 'rotate-workstation-key'], order: ['login', 'check', 'read-fingerprint', 'rotate-workstation-key', 'sign-off'], quorum: ['rotate-workstation-key'], beforeFingerprint: [] },
});

/** Steps that must come after one of another kind (besides the order above). */
const AFTER: Partial<Record<StepKind, StepKind>> = {
  'test-operation': 'generate',
  archive: 'generate',
  csr: 'generate',
  'show-check-value': 'generate',
  'attest-destroyed': 'commit-reshare',
  'restrict-old': 'archive',
};

/** Schema problems as lint problems (paths joined with dots and brackets). */
export function schemaProblems(error: z.ZodError): LintProblem[] {
  return error.issues.map((i) => ({
    path: i.path.map((p, k) => (typeof p === 'number' ? `[${p}]` : `${k ? '.' : ''}${String(p)}`)).join(''),
    message: i.message,
  }));
}

/** Parses and lints a definition object: the definition, or every problem found. */
export function checkDefinition(value: unknown, policy: Policy): { ok: true; definition: CeremonyDefinition } | { ok: false; problems: LintProblem[] } {
  const parsed = definitionSchema.safeParse(value);
  if (!parsed.success) return { ok: false, problems: schemaProblems(parsed.error) };
  const problems = lintDefinition(parsed.data, policy);
  return problems.length ? { ok: false, problems } : { ok: true, definition: parsed.data };
}

export function lintDefinition(def: CeremonyDefinition, policy: Policy): LintProblem[] {
  const problems: LintProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const rules = TYPE_RULES[def.type];
  const kinds = def.steps.map((s) => s.kind);
  const title = CEREMONY_TITLES[def.type];

  // Ids unique; kinds allowed for this type.
  const seen = new Set<string>();
  def.steps.forEach((s, i) => {
    if (seen.has(s.id)) add(`steps[${i}].id`, `The step id "${s.id}" is used twice.`);
    seen.add(s.id);
    if (!rules.allowed.includes(s.kind)) add(`steps[${i}].kind`, `A ${title} ceremony cannot have a "${s.kind}" step.`);
  });

  // Required kinds, in order.
  let from = 0;
  for (const kind of rules.order) {
    const at = kinds.indexOf(kind, from);
    if (at < 0) {
      const anywhere = kinds.indexOf(kind);
      if (anywhere < 0) add('steps', `A ${title} ceremony needs a "${kind}" step${kind === 'verify-shares' ? ' (a verification round: every holder re-enters their share before anything is committed)' : ''}.`);
      else add(`steps[${anywhere}]`, `The "${kind}" step is out of order: the order is ${rules.order.join(' → ')}.`);
    } else {
      from = at + 1;
    }
  }
  for (const kind of ['sign-off', 'read-fingerprint', 'create-record', 'commit-backup', 'generate', 'make-backup-key', 'split', 'enter-shares', 'rebuild-backup-key', 'unwrap-targets', 'commit-reshare', 'attest-destroyed', 'audit-shares', 'destroy', 'enter-components', 'form-key', 'make-components', 'print-components', 'seal-components'] as StepKind[]) {
    const n = kinds.filter((k) => k === kind).length;
    if (n > 1) add('steps', `A ceremony has at most one "${kind}" step (${n} found).`);
  }
  if (kinds.length && kinds[kinds.length - 1] !== 'sign-off') add(`steps[${kinds.length - 1}]`, 'The last step must be the sign-off.');
  const rollCall = kinds.indexOf('roll-call');
  const firstChange = def.steps.findIndex((s) => STEP_KIND_INFO[s.kind].changes);
  if (rollCall < 0) add('steps', 'The first step must be a roll call: the record names who was present.');
  else if (rollCall !== 0) add(`steps[${rollCall}]`, 'The roll call must be the first step.');
  if (rollCall > firstChange && firstChange >= 0) add(`steps[${firstChange}]`, 'Nothing may change before the roll call.');

  for (const [kind, before] of Object.entries(AFTER) as Array<[StepKind, StepKind]>) {
    const at = kinds.indexOf(kind);
    if (at >= 0 && kinds.indexOf(before) > at) add(`steps[${at}]`, `The "${kind}" step must come after the "${before}" step.`);
  }

  // Nothing changes before the fingerprint was read aloud, except the bootstrap steps of set-up.
  const fp = kinds.indexOf('read-fingerprint');
  def.steps.forEach((s, i) => {
    const info = STEP_KIND_INFO[s.kind];
    if (info.changes && s.kind !== 'sign-off' && (fp < 0 || i < fp) && !rules.beforeFingerprint.includes(s.kind)) {
      add(`steps[${i}]`, `The "${s.kind}" step changes something, so it must come after the fingerprint was read aloud.`);
    }
    if (s.quorum && (fp < 0 || i < fp)) add(`steps[${i}].quorum`, 'An approval binds the fingerprint, so a quorum step must come after "read-fingerprint".');
  });

  // Quorum: where required, from custodians, at least the policy's number.
  const minimum = policy.approvals[def.type];
  def.steps.forEach((s, i) => {
    if (rules.quorum.includes(s.kind) && !s.quorum) add(`steps[${i}].quorum`, `The "${s.kind}" step needs a quorum of custodians (the policy asks for ${minimum}).`);
    if (!s.quorum) return;
    if (s.quorum.role !== 'custodian') add(`steps[${i}].quorum.role`, 'Approvals come from custodians.');
    if (typeof s.quorum.threshold === 'number' && s.quorum.threshold < minimum) {
      add(`steps[${i}].quorum.threshold`, `The policy asks for at least ${minimum} custodian approvals for a ${title} ceremony; this step asks for ${s.quorum.threshold}.`);
    }
    const max = def.roles.custodian?.max;
    const need = typeof s.quorum.threshold === 'number' ? s.quorum.threshold : minimum;
    if (max !== undefined && need > max) add(`steps[${i}].quorum.threshold`, `The step needs ${need} custodian approvals but the definition allows at most ${max} custodians.`);
  });

  // Roles: every actor declared; a witness where the policy requires one.
  def.steps.forEach((s, i) => {
    const actor = s.actor ?? STEP_KIND_INFO[s.kind].actor;
    const r = def.roles[actor];
    if (!r || r.min < 1) add(`steps[${i}].actor`, `The step is done by the ${actor}, but the definition's roles do not include at least one ${actor}.`);
  });
  for (const [role, r] of Object.entries(def.roles)) {
    if (r && r.max !== undefined && r.max < r.min) add(`roles.${role}`, `At most ${r.max} but at least ${r.min}: the range is empty.`);
  }
  if (policy.witnessRequired.includes(def.type)) {
    if (!def.roles.witness || def.roles.witness.min < 1) add('roles.witness', `The workstation policy requires a witness for every ${title} ceremony.`);
    const signOff = def.steps.find((s) => s.kind === 'sign-off');
    if (signOff && (signOff.actor ?? 'witness') !== 'witness') add('steps', 'The policy requires a witness: the witness does the sign-off.');
  }

  // Destruction is irreversible: dual control means custodians approve and a witness watches, whatever
  // an older policy (written before this type existed) says about witnesses (issue #10 part 5).
  if (def.type === 'destruction') {
    if (!def.roles.witness || def.roles.witness.min < 1) add('roles.witness', 'A destruction needs a witness.');
    def.steps.forEach((s, i) => {
      if (s.kind === 'destroy' && s.witness === false) add(`steps[${i}].witness`, 'The witness ticks the destruction: it cannot be turned off.');
    });
  }

  // Rules may only tighten the policy.
  if (def.rules?.witnessMayBeCustodian === true && !policy.witnessMayBeCustodian) add('rules.witnessMayBeCustodian', 'The workstation policy does not let a witness be a custodian; a definition cannot allow it.');
  if (def.rules?.passphraseCredentials === 'allowed' && policy.passphraseCredentials === 'forbidden') add('rules.passphraseCredentials', 'The workstation policy forbids passphrase credentials; a definition cannot allow them.');

  // Parameters: only this type's, with values of the right kind.
  const shape = (PARAM_SCHEMAS[def.type] as z.ZodObject).shape as Record<string, z.ZodType>;
  for (const [name, v] of Object.entries(def.parameters ?? {})) {
    const field = shape[name];
    if (!field) {
      add(`parameters.${name}`, `A ${title} ceremony has no parameter "${name}" (it has: ${Object.keys(shape).join(', ')}).`);
      continue;
    }
    for (const which of ['fixed', 'default'] as const) {
      if (v[which] === undefined) continue;
      const r = field.safeParse(v[which]);
      if (!r.success) add(`parameters.${name}.${which}`, r.error.issues[0]?.message ?? 'Not a valid value.');
    }
    if (v.fixed !== undefined && v.default !== undefined) add(`parameters.${name}`, 'A parameter is either fixed or defaulted, not both.');
  }
  return problems;
}
