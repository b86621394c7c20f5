// `custos ceremony …`: the same ceremonies as the app's Ceremonies screen, over the same service and
// the same workstation record (the data folder's archive), so a run started in one continues in the
// other. Each command is one action by one named person (--as, --person); the engine in the service
// checks roles, quorum and freshness. The workstation token is logged in for the length of each
// command (--token, --pin-file); a person's card is named with --card-token and its PIN read from
// --card-pin-file (never from an argument).
//
// The Backup Key and its shares live only in one process's memory, so `ceremony shares` runs that
// part — make the key, split it, hand each share to its holder, verify every share, commit under
// the SO — in one sitting, prompting each holder in turn.
import { Option, type Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml, parse as parseYaml } from 'yaml';
import type { RunView } from '../../../shared/ceremony/view';
import { ROLES, type Role } from '../../../shared/ceremony/roles';
import { invalidInput } from '../../../shared/result';
import type { Proof } from '../../services/ceremony/service';
import type { Services } from '../../services/index';
import { runText } from '../ceremony-text';
import { out, withServices, type GlobalOptions } from '../context';
import { openSession } from '../session';
import { writeFileAtomic, writeFolderAtomic, writeNew } from '../../services/files/atomic';
import { checkOutputFile, LIMITS, readBounded, writeOutputFile } from '../files';
import { readSecret } from '../secrets';
import { runComponentSheetsSitting } from '../ceremony-components';
import { runAuditSitting, runComponentSitting, runReshareSitting, runRestoreSitting, runSharesSitting } from '../ceremony-shares';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface CardOpts {
  cardToken?: string;
  cardModule?: string;
  cardPinFile?: string;
  passphraseFile?: string;
}

const cardOptions = (c: Command): Command =>
  c
    .addOption(new Option('--card-token <label|uri>', "the person's card (token label or PKCS#11 URI)"))
    .addOption(new Option('--card-module <path>', "the card's PKCS#11 module (default: --module, or the configured module)"))
    .addOption(new Option('--card-pin-file <file>', "a file holding the card's PIN (else a hidden prompt)"))
    .addOption(new Option('--passphrase-file <file>', 'a file holding the passphrase, for a person with a passphrase credential'));

/** For the sittings where a holder may open a share sealed to their card instead of typing it. */
const CARD_MODULE = () => new Option('--card-module <path>', "the PKCS#11 module of the holders' cards, for shares sealed to them (default: the workstation token's)");

/** The person's proof: their card and its PIN, or their passphrase. */
async function proofOf(s: Services, opts: GlobalOptions, o: CardOpts, who: string): Promise<{ proof: Proof; wipe(): void }> {
  if (o.passphraseFile) {
    const p = await readSecret({ file: o.passphraseFile, prompt: `Passphrase of ${who}: `, what: 'passphrase' });
    return { proof: { passphrase: p.value }, wipe: () => p.wipe() };
  }
  if (!o.cardToken) invalidInput(`Name ${who}'s card with --card-token (or give --passphrase-file for a passphrase credential).`, 'Insert the card and pass --card-token LABEL.');
  const module = o.cardModule ?? opts.module ?? s.tokens.enabledModules()[0]?.path;
  if (!module) invalidInput('No PKCS#11 module for the card.', 'Pass --card-module PATH.');
  const pin = await readSecret({ file: o.cardPinFile, prompt: `PIN of ${who}'s card "${o.cardToken}": `, what: 'card PIN' });
  return { proof: { card: { module, token: o.cardToken, pin: pin.value } }, wipe: () => pin.wipe() };
}

/** Runs `fn` with the workstation token logged in (for the length of the command). */
function withSession(program: Command, fn: (s: Services, t: { module: string; token: string }, opts: GlobalOptions) => Promise<RunView | void>): Promise<void> {
  return withServices(program, async (s, opts) => {
    s.activity.withinCeremony();
    const { t } = await openSession(s, opts, { always: true });
    try {
      const v = await fn(s, t, opts);
      if (v) out(opts, v, () => runText(v));
    } finally {
      await s.tokens.logout(t.module, t.token, false).catch(() => undefined);
    }
  });
}

function participants(list: string[] = []): Array<{ person: string; roles: Role[] }> {
  return list.map((p) => {
    const at = p.lastIndexOf('=');
    if (at < 1) invalidInput(`--participant "${p}" is not NAME=role[,role].`, 'For example --participant "Ann Archer=custodian".');
    const roles = p
      .slice(at + 1)
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) invalidInput(`"${r}" is not a role.`, `Roles: ${ROLES.join(', ')}.`);
    return { person: p.slice(0, at).trim(), roles: roles as Role[] };
  });
}

function readParams(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  // Bounded: a parameters file that is /dev/zero or a pipe that never ends is refused, not read forever.
  const text = readBounded(file, LIMITS.small, 'parameters').toString('utf8');
  try {
    const v = parseYaml(text, { maxAliasCount: 0 }) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a mapping');
    return v as Record<string, unknown>;
  } catch {
    invalidInput(`The parameters file ${file} is not a YAML or JSON mapping.`, 'Write one "name: value" line per parameter (docs/CLI.md lists them per ceremony).');
  }
}

/** Plans a built-in ceremony from other commands (`custos archive retrieve`): the same checks and output as `ceremony plan`. */
export function planBuiltin(program: Command, definition: string, params: Record<string, unknown>, participantArgs: string[]): Promise<void> {
  return withSession(program, async (s, t) => s.ceremonies.plan(t, { definition, params, participants: participants(participantArgs) }));
}

export function registerCeremonyCommands(program: Command): void {
  const c = program.command('ceremony').description('key ceremonies: plan, run step by step with named people, approve with cards, evidence bundles');

  c.command('definitions')
    .description('the built-in ceremony definitions; --export writes them as YAML files to copy and tighten')
    .addOption(new Option('--export <dir>', 'write each definition to DIR/<name>.yaml'))
    .action((o: { export?: string }) =>
      withServices(program, async (s, opts) => {
        const defs = s.ceremonies.definitions();
        if (o.export) {
          mkdirSync(o.export, { recursive: true });
          const files = defs.map((d) => ({ name: `${d.id.split('/').pop()}.yaml`, text: toYaml(d.definition) }));
          // All checked before any is written: a clash leaves the folder as it was.
          for (const f of files) if (existsSync(join(o.export, f.name))) invalidInput(`${join(o.export, f.name)} exists already.`, 'Export into an empty folder; nothing is overwritten.');
          for (const f of files) writeFileAtomic(o.export, f.name, Buffer.from(f.text, 'utf8'), { mode: 0o644 });
        }
        out(opts, defs.map(({ definition: _d, ...rest }) => rest), () => defs.map((d) => `${d.id.padEnd(28)} rev ${d.revision}  ${d.title}`).join('\n'));
      }),
    );

  c.command('lint <file>')
    .description('check a definition file against the schema and the state model (no HSM is touched)')
    .action((file: string) =>
      withServices(program, async (s, opts) => {
        let text: string;
        try {
          text = readBounded(file, LIMITS.small, 'parameters').toString('utf8');
        } catch {
          invalidInput(`The definition file ${file} cannot be read.`, 'Check the path.');
        }
        const d = await s.ceremonies.parseDefinition(text);
        out(opts, { ok: true, id: d.id, revision: d.revision, type: d.type, steps: d.steps.length }, () => `${file}: ${d.id} rev ${d.revision} (${d.type}, ${d.steps.length} steps) passes the schema and the linter.`);
      }),
    );

  c.command('list')
    .description('ceremonies planned, running, interrupted and finished (no HSM needed)')
    .action(() =>
      withServices(program, async (s, opts) => {
        const runs = await s.ceremonies.list();
        out(opts, runs, () => (runs.length ? runs.map((r) => `${r.run}  ${r.status.padEnd(9)} ${r.practice ? 'PRACTICE ' : ''}${r.title}  ${r.startedAt}`).join('\n') : 'No ceremonies yet.'));
      }),
    );

  c.command('status')
    .description('where a ceremony is, who acts now and what they must do (no HSM needed)')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .action((o: { run: string }) =>
      withServices(program, async (s, opts) => {
        const v = await s.ceremonies.view(o.run);
        out(opts, v, () => runText(v));
      }),
    );

  c.command('plan <definition>')
    .description('plan a ceremony from a built-in definition (custos/key-generation, …) or a definition file; checks it before touching the HSM')
    .addOption(new Option('--params <file>', 'the ceremony parameters (YAML or JSON)'))
    .addOption(new Option('--participant <name=roles>', 'a participant and the roles they take in this ceremony (repeat)').argParser(collect))
    .action((definition: string, o: { params?: string; participant?: string[] }) =>
      withSession(program, async (s, t) => {
        const def = existsSync(definition) ? await s.ceremonies.parseDefinition(readBounded(definition, LIMITS.small, 'definition').toString('utf8')) : definition;
        return s.ceremonies.plan(t, { definition: def, params: readParams(o.params), participants: participants(o.participant) });
      }),
    );

  const act = (name: string, description: string, build: (cmd: Command) => Command, action: (s: Services, o: Record<string, string | undefined>, opts: GlobalOptions) => Promise<{ action: Parameters<Services['ceremonies']['act']>[2]; by: string | null; wipe?: () => void }>) =>
    build(
      c
        .command(name)
        .description(description)
        .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
        .addOption(new Option('--as <name>', 'who does it (a participant), where several could')),
    ).action((o: Record<string, string | undefined>) =>
      withSession(program, async (s, t, opts) => {
        const a = await action(s, o, opts);
        // Long steps (KEK rotation): a progress line on stderr for each batch, and Ctrl-C asks the
        // step to stop after the batch in flight (it can be resumed) instead of killing it mid-batch.
        const unsubscribe = s.events.subscribe((e) => {
          if (e.type === 'progress' && e.run === o.run) process.stderr.write(`${e.step}: ${e.message}\n`);
        });
        const onInt = () => {
          if (s.ceremonies.cancel(o.run!)) process.stderr.write('Stopping after the current batch; resume the ceremony to finish.\n');
          else process.exit(130);
        };
        process.on('SIGINT', onInt);
        try {
          return (await s.ceremonies.act(t, o.run!, a.action, a.by)).view;
        } finally {
          process.off('SIGINT', onInt);
          unsubscribe();
          a.wipe?.();
        }
      }),
    );

  act('step', "run the current step (the login step uses this command's own --pin-file login)", (x) => x, async (s, o) => {
    const v = await s.ceremonies.view(o.run!);
    if (v.current?.input.kind === 'login') return { action: { kind: 'login', pin: null }, by: o.as ?? null };
    return { action: { kind: 'run' }, by: o.as ?? null };
  });

  act('present', 'a person proves presence at the roll call with their card (or passphrase)', (x) => cardOptions(x.addOption(new Option('--person <name>').makeOptionMandatory())), async (s, o, opts) => {
    const p = await proofOf(s, opts, o, o.person!);
    return { action: { kind: 'present', person: o.person!, proof: p.proof }, by: null, wipe: p.wipe };
  });

  act('attest', 'a holder of an old share attests, with their card (or passphrase), that they destroyed it (re-share)', (x) => cardOptions(x.addOption(new Option('--person <name>').makeOptionMandatory())), async (s, o, opts) => {
    const p = await proofOf(s, opts, o, o.person!);
    return { action: { kind: 'attest', person: o.person!, proof: p.proof }, by: null, wipe: p.wipe };
  });

  act('confirm-fingerprint', 'the administrator records that everyone read the fingerprint aloud; --words must be the words on the screen', (x) => x.addOption(new Option('--words <words>', 'the eight fingerprint words, as read aloud').makeOptionMandatory()), async (s, o) => {
    const v = await s.ceremonies.view(o.run!);
    const said = o.words!.trim().toLowerCase().split(/\s+/);
    if (said.join(' ') !== v.fingerprint.words.join(' ')) {
      invalidInput('The words given are not the ceremony’s fingerprint: the parameters may have changed, or a word was misread.', 'Stop. Read the fingerprint from `custos ceremony status` again; if it differs from the printed script, raise an exception.');
    }
    return { action: { kind: 'confirm-fingerprint', fingerprint: v.fingerprint.hex }, by: o.as ?? null };
  });

  act('enrol', 'enrol a person: a key pair is generated inside their card (or derived from their passphrase)', (x) => cardOptions(x.addOption(new Option('--person <name>').makeOptionMandatory())), async (s, o, opts) => {
    const p = await proofOf(s, opts, o, o.person!);
    return { action: { kind: 'enrol', person: o.person!, proof: p.proof }, by: null, wipe: p.wipe };
  });

  act(
    'approve',
    'a custodian approves a step: their card signs the run, fingerprint, step, counter and nonce',
    (x) => cardOptions(x.addOption(new Option('--person <name>').makeOptionMandatory()).addOption(new Option('--step <id>', 'the step to approve (default: the one waiting for approvals)'))),
    async (s, o, opts) => {
      const v = await s.ceremonies.view(o.run!);
      const step = o.step ?? (v.current?.input.kind === 'approve' ? v.current.input.step : v.current?.id);
      if (!step) invalidInput('No step is waiting for approvals.', 'Check `custos ceremony status`.');
      const p = await proofOf(s, opts, o, o.person!);
      return { action: { kind: 'approve', step, person: o.person!, proof: p.proof }, by: null, wipe: p.wipe };
    },
  );

  act('tick', 'the witness ticks the step just done', (x) => x.addOption(new Option('--step <id>', 'the step (default: the last one done)')), async (_s, o) => ({ action: { kind: 'tick', ...(o.step ? { step: o.step } : {}) }, by: o.as ?? null }));

  act(
    'exception',
    'record an exception: what was expected, what happened',
    (x) =>
      x
        .addOption(new Option('--expected <text>').makeOptionMandatory())
        .addOption(new Option('--happened <text>').makeOptionMandatory())
        .addOption(new Option('--step <id>', 'the step it concerns'))
        .addOption(new Option('--role <role>', 'the role of the person raising it').default('witness')),
    async (_s, o) => ({ action: { kind: 'exception', role: o.role as Role, step: o.step ?? null, expected: o.expected!, happened: o.happened! }, by: o.as ?? null }),
  );

  act('decide', 'the administrator records the decision on an exception', (x) => x.addOption(new Option('--id <id>').makeOptionMandatory()).addOption(new Option('--decision <text>').makeOptionMandatory()), async (_s, o) => ({ action: { kind: 'decide', id: o.id!, decision: o.decision! }, by: o.as ?? null }));

  act('acknowledge', 'the witness acknowledges a decided exception', (x) => x.addOption(new Option('--id <id>').makeOptionMandatory()), async (_s, o) => ({ action: { kind: 'acknowledge', id: o.id! }, by: o.as ?? null }));

  act('resume', 'continue an interrupted ceremony: adopt what was finished, redo what was not, void a half-handed-out share set', (x) => x, async (_s, o) => ({ action: { kind: 'resume' }, by: o.as ?? null }));

  act('abort', 'abort the ceremony (the administrator); nothing more can be done in it', (x) => x.addOption(new Option('--reason <text>').makeOptionMandatory()), async (_s, o) => ({ action: { kind: 'abort', reason: o.reason! }, by: o.as ?? null }));

  cardOptions(
    c
      .command('sign-off')
      .description('the witness signs off with their card, and the evidence bundle is made')
      .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
      .addOption(new Option('--person <name>', 'the witness').makeOptionMandatory()),
  ).action((o: Record<string, string | undefined>) =>
    withSession(program, async (s, t, opts) => {
      const v = await s.ceremonies.view(o.run!);
      if (v.current?.kind !== 'sign-off') invalidInput(`The ceremony is at “${v.current?.title ?? v.status}”, not at the sign-off.`, 'Finish the steps before it first.');
      const p = await proofOf(s, opts, o, o.person!);
      try {
        await s.ceremonies.act(t, o.run!, { kind: 'approve', step: v.current.id, person: o.person!, proof: p.proof }, null);
      } finally {
        p.wipe();
      }
      const r = await s.ceremonies.act(t, o.run!, { kind: 'run' }, o.person!);
      if (r.bundle && !opts.json) process.stderr.write(`evidence bundle: ${r.bundle.path}\n`);
      return r.view;
    }),
  );

  c.command('shares')
    .description('the secret part of a backup in one sitting: make the Backup Key, split it, show each holder their share alone, verify every share, commit under the SO')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(new Option('--so-pin-file <file>', 'a file holding the SO PIN for the commit (else a hidden prompt)'))
    .addOption(new Option('--no-clear', 'do not clear the screen between holders (for a printed log: then nobody else may watch the terminal)'))
    .addOption(new Option('--envelope <NAME=FILE>', 'a sealed backup: where a holder’s sealed share is written (a new file; repeatable; otherwise the operator is asked per holder)').argParser(collect))
    .addOption(CARD_MODULE())
    .action((o: { run: string; soPinFile?: string; clear: boolean; envelope?: string[]; cardModule?: string }) =>
      withSession(program, async (s, t, opts) => runSharesSitting(s, t, opts, o)),
    );

  c.command('restore-shares')
    .description('a restore’s or a drill’s secret part in one sitting: each holder types their share or opens the one sealed to their card (checked at once), the Backup Key is rebuilt and checked, the keys are unwrapped and their check values compared')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(new Option('--dest-pin-file <file>', 'the PIN of the destination token, when it is not the workstation token'))
    .addOption(CARD_MODULE())
    .action((o: { run: string; destPinFile?: string; cardModule?: string }) => withSession(program, async (s, t, opts) => runRestoreSitting(s, t, opts, o)));

  c.command('reshare-shares')
    .description('a re-share’s secret part in one sitting: the old holders type their shares, the Backup Key is rebuilt and checked, split for the new holders, each new share shown to its holder alone and verified, the new set committed')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(new Option('--no-clear', 'do not clear the screen between holders (for a printed log: then nobody else may watch the terminal)'))
    .addOption(CARD_MODULE())
    .action((o: { run: string; clear: boolean; cardModule?: string }) => withSession(program, async (s, t, opts) => runReshareSitting(s, t, opts, o)));

  c.command('enter-components')
    .description('forming a key from XOR components in one sitting: each holder types their component alone, checked against its printed check value; the key is formed in the HSM')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .action((o: { run: string }) => withSession(program, async (s, t, opts) => runComponentSitting(s, t, opts, o)));

  c.command('component-sheets')
    .description('creating a key as XOR components in one sitting: the components made and the key formed in the HSM, each holder’s sheet written to the file named for them, then each holder checks their sheet and gives the envelope’s serial')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(new Option('--sheet <NAME=FILE>', 'where a holder’s sheet is written (repeatable; otherwise the operator is asked per holder)').argParser(collect))
    .action((o: { run: string; sheet?: string[] }) => withSession(program, async (s, t, opts) => runComponentSheetsSitting(s, t, opts, o)));

  c.command('audit-shares')
    .description('a share audit in one sitting: each holder types their share alone, or opens the one sealed to their card; it is checked on its own against the backup’s record, never combined or kept')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(CARD_MODULE())
    .action((o: { run: string; cardModule?: string }) => withSession(program, async (s, t, opts) => runAuditSitting(s, t, opts, o)));

  c.command('bundle')
    .description('where a finished ceremony’s evidence bundle is; --out copies it (to removable media)')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(new Option('--out <dir>', 'copy the bundle folder into DIR'))
    .action((o: { run: string; out?: string }) =>
      withServices(program, async (s, opts) => {
        const v = await s.ceremonies.view(o.run);
        if (!v.bundle) invalidInput('This ceremony has no evidence bundle: it is not finished.', 'Finish it with the sign-off.');
        let path = s.ceremonies.bundlePath(v.bundle.name);
        if (o.out) {
          const dest = join(o.out, v.bundle.name);
          if (existsSync(dest)) invalidInput(`${dest} exists already.`, 'Copy into another folder; nothing is overwritten.');
          mkdirSync(o.out, { recursive: true });
          // Atomic (a temporary folder beside it, renamed when every file is in), files 0600: a
          // stick pulled half-way holds no half bundle under the bundle's name.
          const src = path;
          path = await writeFolderAtomic(o.out, v.bundle.name, (tmp) => {
            for (const n of readdirSync(src)) writeNew(join(tmp, n), readFileSync(join(src, n)), 0o600);
          }, { mode: 0o600 });
        }
        out(opts, { path, hash: v.bundle.hash, name: v.bundle.name }, () => `${path}\nsha256 ${v.bundle!.hash}`);
      }),
    );

  c.command('export')
    .description('save what a retrieval exported (the wrapped key, for the receiving system) to FILE; checked against the SHA-256 the ceremony recorded')
    .addOption(new Option('--run <id>', 'the ceremony').makeOptionMandatory())
    .addOption(new Option('--out <file>', 'where to write it (never over an existing file without --force)').makeOptionMandatory())
    .action((o: { run: string; out: string }) =>
      withServices(program, async (s, opts) => {
        checkOutputFile(o.out, 'wrapped export', { force: !!opts.force });
        const x = await s.ceremonies.wrappedExport(o.run);
        writeOutputFile(o.out, x.bytes, 'wrapped export', { mode: 0o600, force: !!opts.force });
        out(opts, { path: o.out, bytes: x.bytes.length, sha256: x.sha256 }, () => `${o.out}\n${x.bytes.length} bytes, sha256 ${x.sha256}`);
      }),
    );

  c.command('verify-bundle <dir>')
    .description('check an evidence bundle: every file hashed and listed, the audit key’s signature (pinned to this workstation’s key), the journal chain and every approval signature')
    .addOption(new Option('--public-key <file>', 'the audit public key to check against (PEM), for a bundle from another workstation'))
    .action((dir: string, o: { publicKey?: string }) =>
      withServices(program, async (s, opts) => {
        const pem = o.publicKey ? readBounded(o.publicKey, LIMITS.small, 'public key').toString('utf8') : undefined;
        const v = await s.ceremonies.verifyBundle(dir, pem);
        if (!v.ok) {
          if (!opts.json) for (const x of v.checks.filter((k) => !k.ok)) process.stderr.write(`  failed: ${x.check}${x.detail ? ` (${x.detail})` : ''}\n`);
          const first = v.checks.find((k) => !k.ok);
          invalidInput(`The evidence bundle does not verify: ${first?.check ?? 'unknown'} failed.`, 'Do not rely on this bundle. Compare it with the copy made at the ceremony.', { failed: v.checks.filter((k) => !k.ok).length });
        }
        out(opts, v, () => `${dir}: verifies (${v.checks.length} checks${v.pinned ? ', audit key pinned' : ', audit key NOT pinned: compare its fingerprint by hand'}).\nsha256 ${v.hash}`);
      }),
    );

  program
    .command('people')
    .description("the workstation's register: people, roles and credentials (no HSM needed)")
    .action(() =>
      withServices(program, async (s, opts) => {
        const r = await s.ceremonies.status();
        out(opts, r, () =>
          r.exists
            ? [`record “${r.name}”${r.practice ? ' (PRACTICE)' : ''}`, ...r.people.map((p) => `${p.name.padEnd(22)} ${p.roles.join(', ').padEnd(30)} ${p.status.padEnd(8)} ${p.credential ? `${p.credential.kind}${p.credential.card ? ` ${p.credential.card.model} ${p.credential.card.serial}` : ''} ${p.credential.fingerprint.slice(0, 16)}` : 'no credential'}`)].join('\n')
            : 'This workstation has no record yet: run `custos ceremony plan custos/workstation-setup --params setup.yaml`.',
        );
      }),
    );
}
