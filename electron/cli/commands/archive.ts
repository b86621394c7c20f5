// `custos archive …`: the encrypted key archive. Search, show, info and `verify --no-hsm` open the
// file read-only and need no HSM; everything that writes, wraps, unwraps or signs logs in to the
// token holding the archive keys (PIN from --pin-file, stdin or a hidden prompt). Both go through
// the archive's door (services/archive/door.ts), as the app does.
// Over 400 lines because it declares the options of ten subcommands; each body is one door call.
import { Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import { isLifecycleAction, KEY_STATES } from '../../../shared/archive/lifecycle';
import { isPurpose, MAX_POLICY_MONTHS, PURPOSES } from '../../../shared/archive/policy';
import { auditKeyLine, auditKeyMismatch } from '../../../shared/archive/audit-key';
import type { SearchQuery, VerifyVerdict, VersionDetail, VersionSummary } from '../../../shared/archive/types';
import { CustosError } from '../../../shared/result';
import { exportBundle, importBundle, refFromSelector, refuseDestroyOutsideCeremony, trustWorkstation, type ArchiveService } from '../../services/archive/index';
import { loadCliModule } from '../load';
import type { Services } from '../../services/index';
import { out, withServices, type GlobalOptions } from '../context';
import { checkOutputFile, LIMITS, readBounded, writeOutputFile } from '../files';
import { dateOption, intOption } from '../options';
import { openSession } from '../session';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function usage(message: string, action: string): CustosError {
  return new CustosError({ code: 'INVALID_INPUT', message, action });
}

interface ArchiveOpts {
  archive?: string;
  actor?: string;
  acceptRollback?: boolean;
}

function archivePath(o: ArchiveOpts): string {
  if (!o.archive) throw usage('No archive was named.', 'Pass --archive FILE.');
  return o.archive;
}

/** Logs in to the token (for the length of the command) and returns its module and URI. */
async function login(s: Services, opts: GlobalOptions): Promise<{ module: string; token: string; uri: string }> {
  const { t } = await openSession(s, opts, { always: true });
  return { ...t, uri: t.token };
}

/**
 * How a command opens the archive: `read` read-only without the HSM; `report` the same, but a
 * stored audit key that is not the pinned one is reported instead of refused (info, verify);
 * `inspect` read-only bound to the logged-in token, reporting too (verify and info against the
 * HSM); `hsm` bound to the token to write.
 */
type OpenMode = 'read' | 'report' | 'inspect' | 'hsm';

/**
 * Opens the archive through its door (read-only, or bound to the logged-in token, which the door
 * checks is the archive's), runs `fn`, closes it.
 */
function withArchive(program: Command, o: ArchiveOpts, mode: OpenMode, fn: (a: ArchiveService, s: Services, opts: GlobalOptions) => Promise<void>): Promise<void> {
  return withServices(program, async (s, opts) => {
    const path = archivePath(o);
    const open = { acceptRollback: o.acceptRollback === true };
    if (mode === 'read' || mode === 'report') return s.archive.read(path, (a) => fn(a, s, opts), { ...open, reportAuditKey: mode === 'report' });
    const token = await login(s, opts);
    try {
      const t = { module: token.module, token: token.token };
      if (mode === 'inspect') await s.archive.inspect(path, t, (a) => fn(a, s, opts), open);
      else await s.archive.write(path, t, (a) => fn(a, s, opts), open);
    } finally {
      await s.tokens.logout(token.module, token.token, false).catch(() => undefined);
    }
  });
}

const archiveOption = () => new Option('--archive <file>', 'the archive file').makeOptionMandatory();
const actorOption = () => new Option('--actor <name>', 'who acts, as free text for the audit log (default: the --operator person, else the OS user)');

function line(v: VersionSummary): string {
  const dates = [v.activationDate ? `active from ${v.activationDate.slice(0, 10)}` : null, v.deactivationDate ? `until ${v.deactivationDate.slice(0, 10)}` : null].filter(Boolean).join(' ');
  return `${v.label}@${v.version}  ${v.state.padEnd(12)} ${v.algorithm.padEnd(9)} ${v.purpose.padEnd(15)} ${v.checkValue ?? v.fingerprint?.slice(0, 16) ?? '—'}  ${dates}${v.tags.length ? `  [${v.tags.join(', ')}]` : ''}\n    ${v.versionId}`;
}

/** " — OVERDUE since …" / " — rotation due in N days" for an active version, as a custodian reads it. */
function dueNote(v: VersionSummary, now: number): string {
  if (v.state !== 'active' || !v.rotationDue) return '';
  const days = Math.ceil((Date.parse(v.rotationDue) - now) / 86_400_000);
  if (days <= 0) return `\n    OVERDUE: rotation was due ${v.rotationDue.slice(0, 10)} ; rotate it: custos ceremony plan custos/rotation --params FILE (key: ${v.label})`;
  return days <= 90 ? `\n    rotation due in ${days} day${days === 1 ? '' : 's'} (${v.rotationDue.slice(0, 10)})` : '';
}

function detailText(d: VersionDetail): string {
  const s = d.summary;
  const rows: Array<[string, string | null | number]> = [
    ['key', `${s.label} (${d.key.keyId})`],
    ['version', `${s.version} of ${d.versions.length}  (${s.versionId})`],
    ['state', s.state],
    ['algorithm', `${s.algorithm} (${d.kind} key)`],
    ['purpose', `${s.purpose}; policy ${d.key.policy.id}: ${d.key.policy.originatorUsageMonths} months + ${d.key.policy.recipientExtraMonths} months`],
    ['check value', s.checkValue ? `${s.checkValue} (${d.checkMethod})${d.checkLegacy ? `, secondary ${d.checkLegacy}` : ''}` : null],
    ['fingerprint', s.fingerprint],
    ['material', s.hasMaterial ? `${d.wrappedBytes} bytes, ${d.wrapMechanism} under KEK ${d.kekCheck}` : 'shredded'],
    ['activation', s.activationDate],
    ['rotation due', s.rotationDue],
    ['protect-stop', d.protectStopDate],
    ['process-stop', d.processStopDate],
    ['deactivation', s.deactivationDate],
    ['compromise', d.compromiseDate],
    ['destroyed', d.destroyedDate],
    ['tags', s.tags.join(', ') || null],
    ['custodians', d.key.custodians.join(', ') || null],
    ['source', d.sourceUri],
    ['origin', d.originArchive],
  ];
  const out = rows.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k.padEnd(13)} ${v}`);
  out.push('history:');
  for (const h of d.history) out.push(`  ${h.at}  ${h.from ?? '—'} → ${h.to}  ${h.action} by ${h.actor}${h.reason ? ` (${h.reason})` : ''}`);
  if (d.allowedActions.length) out.push(`possible steps: ${d.allowedActions.join(', ')}`);
  return out.join('\n');
}

/**
 * A bundle to import: an existing regular file. A folder, a device or a pipe is refused before the
 * token is touched (a folder used to surface as INTERNAL, /dev/zero as a hang; issue #11).
 */
function checkBundleFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw usage(`The bundle file ${path} does not exist.`, 'Check the path; a bundle is the file `custos archive export --out` wrote.');
  }
  if (st.isDirectory()) throw usage(`${path} is a folder, not a bundle file.`, 'Name the bundle file itself (written by `custos archive export --out FILE`).');
  if (!st.isFile()) throw usage(`${path} is not a regular file, so it cannot be a bundle.`, 'Copy the bundle to a file first, then import that file.');
}

/** On failure: the first problem in the error (so --json prints one document), all of them on stderr and in --report. */
function verdictError(v: VerifyVerdict): CustosError {
  const first = v.problems[0];
  const chain = v.problems.some((p) => p.check === 'chain' || p.check === 'checkpoint' || p.check === 'truncation');
  return new CustosError({
    code: chain ? 'AUDIT_CHAIN_BROKEN' : 'ARCHIVE_TAMPERED',
    message: `Verification failed: ${v.problems.length + v.moreProblems} problem(s)${v.firstBadEntry !== null ? `; the first bad audit entry is ${v.firstBadEntry}` : ''}. ${first?.message ?? ''}`.trim(),
    action: 'Do not trust this archive. Keep the file as evidence, and restore the archive from a trusted copy; --report FILE writes every problem found.',
    details: { firstBadEntry: v.firstBadEntry ?? 0, problems: v.problems.length + v.moreProblems, ...(first?.table ? { table: first.table } : {}), ...(first?.id ? { id: first.id } : {}) },
  });
}

export function registerArchiveCommands(program: Command): void {
  const archive = program.command('archive').description('the encrypted key archive: init, add, search, show, state, verify, export, import, trust, info');

  archive
    .command('init')
    .description('create an archive and its keys (Archive KEK, Archive MAC key, audit key) in the HSM')
    .addOption(archiveOption())
    .addOption(new Option('--name <name>', "the archive's name (usually the workstation's)").makeOptionMandatory())
    .addOption(actorOption())
    .action((o: ArchiveOpts & { name: string }) =>
      withServices(program, async (s, opts) => {
        const token = await login(s, opts);
        const a = await s.archive.init(archivePath(o), { token: { module: token.module, token: token.token }, name: o.name, actor: (o.actor ?? (await s.activity.actorText())), tokenUri: token.uri });
        try {
          const info = a.info();
          out(opts, info, () =>
            [
              `Created archive "${info.name}" at ${info.path}`,
              `  archive id        ${info.archiveId}`,
              `  Archive KEK       ${info.keys.kek.label}  check value ${info.keys.kek.check} (AES-CMAC)`,
              `  Archive MAC key   ${info.keys.mac.label}  check value ${info.keys.mac.check} (HMAC-SHA256 of 32 zero bytes)`,
              `  audit key         ${info.keys.audit.label}`,
              `  audit key fingerprint (SHA-256 of its SPKI; write it down, read it aloud):`,
              `                    ${info.keys.audit.fingerprint}`,
              'Back up the Archive KEK and MAC key with a split-knowledge backup before archiving keys.',
            ].join('\n'),
          );
        } finally {
          a.close();
          await s.tokens.logout(token.module, token.token, false).catch(() => undefined);
        }
      }),
    );

  archive
    .command('add')
    .description('archive an extractable HSM key: wrap it under the Archive KEK in the HSM, MAC and audit the record')
    .addOption(archiveOption())
    .addOption(new Option('--key <label|uri>', 'the HSM key (label, or PKCS#11 URI with object= / id=)').makeOptionMandatory())
    .addOption(new Option('--label <label>', 'the archive label of the key (default: the HSM label)'))
    .addOption(new Option('--purpose <purpose>', 'what the key is for (needed for a new key)').choices([...PURPOSES]))
    .addOption(new Option('--tag <tag>', 'a tag (repeatable)').argParser(collect))
    .addOption(new Option('--custodian <id>', 'a custodian responsible for the key (repeatable)').argParser(collect))
    .addOption(new Option('--description <text>', 'free text'))
    .addOption(new Option('--activate', 'make this version the active one (deactivates the previous active version)'))
    .addOption(new Option('--activation-date <date>', 'when the version became active, if in the past (needs --activate)').argParser(dateOption('--activation-date')))
    .addOption(new Option('--oup-months <n>', 'originator-usage period in months (default: NIST SP 800-57 Table 1 for the purpose)').argParser(intOption('--oup-months', 1, MAX_POLICY_MONTHS)))
    .addOption(new Option('--rup-extra-months <n>', 'months the key may still process after the originator-usage period').argParser(intOption('--rup-extra-months', 0, MAX_POLICY_MONTHS)))
    .addOption(actorOption())
    .action(
      (
        o: ArchiveOpts & {
          key: string;
          label?: string;
          purpose?: string;
          tag?: string[];
          custodian?: string[];
          description?: string;
          activate?: boolean;
          activationDate?: string;
          oupMonths?: number;
          rupExtraMonths?: number;
        },
      ) =>
        withArchive(program, o, 'hsm', async (a, s, opts) => {
          const ref = refFromSelector(o.key);
          if (o.purpose !== undefined && !isPurpose(o.purpose)) throw usage(`"${o.purpose}" is not a purpose.`, `Use one of: ${PURPOSES.join(', ')}.`);
          if (o.rupExtraMonths !== undefined && o.oupMonths === undefined) throw usage('--rup-extra-months needs --oup-months.', 'Give the originator-usage period too, or leave both out for the purpose\'s default.');
          if (o.activationDate !== undefined && !o.activate) throw usage('--activation-date needs --activate.', 'Add --activate, or leave the date out.');
          const policy = o.oupMonths !== undefined ? { originatorUsageMonths: o.oupMonths, recipientExtraMonths: o.rupExtraMonths ?? 0 } : undefined;
          const label = o.label ?? ref.label;
          if (!label) throw usage('The key is named by id only, so the archive needs a label for it.', 'Pass --label LABEL.');
          const activationDate = o.activationDate;
          const [r] = await a.add(
            [
              {
                hsm: ref,
                sourceUri: o.key,
                key: {
                  label,
                  ...(o.purpose ? { purpose: o.purpose } : {}),
                  tags: o.tag ?? [],
                  custodians: o.custodian ?? [],
                  ...(o.description !== undefined ? { description: o.description } : {}),
                  ...(policy ? { policy } : {}),
                },
                activate: o.activate === true,
                ...(activationDate ? { activationDate } : {}),
              },
            ],
            (o.actor ?? (await s.activity.actorText())),
          );
          out(opts, r, () => `Archived ${r!.label}@${r!.version} (${r!.algorithm}, ${r!.state})  check value ${r!.checkValue ?? r!.fingerprint ?? '—'}\n  version id ${r!.versionId}`);
        }),
    );

  archive
    .command('search')
    .description('search archived key versions (read-only; no HSM needed)')
    .addOption(archiveOption())
    .addOption(new Option('--label <label>', 'key label; end with * for a prefix'))
    .addOption(new Option('--tag <tag>', 'tag (repeatable; all must match)').argParser(collect))
    .addOption(new Option('--algorithm <alg>', 'e.g. aes-256, hmac-256, tdes (repeatable)').argParser(collect))
    .addOption(new Option('--state <state>', `one of ${KEY_STATES.join(', ')} (repeatable)`).argParser(collect))
    .addOption(new Option('--purpose <purpose>', 'repeatable').argParser(collect))
    .addOption(new Option('--custodian <id>', 'custodian id'))
    .addOption(new Option('--created-from <date>').argParser(dateOption('--created-from')))
    .addOption(new Option('--created-to <date>').argParser(dateOption('--created-to')))
    .addOption(new Option('--activated-from <date>').argParser(dateOption('--activated-from')))
    .addOption(new Option('--activated-to <date>').argParser(dateOption('--activated-to')))
    .addOption(new Option('--rotation-due-before <date>').argParser(dateOption('--rotation-due-before')))
    .addOption(new Option('--due [days]', 'active versions whose rotation is due within DAYS days (default 0: due now or overdue), soonest first').argParser(intOption('--due', 0, 3650)))
    .addOption(new Option('--active-for <purpose>', 'with --on: the version that was active for this purpose on that date'))
    .addOption(new Option('--on <date>', 'the date for --active-for (when the old data was written)').argParser(dateOption('--on')))
    .addOption(new Option('--sort <field>').choices(['label', 'created', 'activation', 'rotation-due']))
    .addOption(new Option('--order <order>').choices(['asc', 'desc']))
    .addOption(new Option('--limit <n>', 'page size (1–500, default 50)').argParser(intOption('--limit', 1, 500)))
    .addOption(new Option('--offset <n>', 'skip this many results').argParser(intOption('--offset', 0, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--count', 'also count all matches'))
    .action(
      (
        o: ArchiveOpts & {
          label?: string;
          tag?: string[];
          algorithm?: string[];
          state?: string[];
          purpose?: string[];
          custodian?: string;
          createdFrom?: string;
          createdTo?: string;
          activatedFrom?: string;
          activatedTo?: string;
          rotationDueBefore?: string;
          due?: number | true;
          activeFor?: string;
          on?: string;
          sort?: string;
          order?: string;
          limit?: number;
          offset?: number;
          count?: boolean;
        },
      ) =>
        withArchive(program, o, 'read', async (a, _s, opts) => {
          const q: Record<string, unknown> = {};
          if (o.label !== undefined) q.label = o.label;
          if (o.tag) q.tags = o.tag;
          if (o.algorithm) q.algorithm = o.algorithm;
          if (o.state) q.state = o.state;
          if (o.purpose) q.purpose = o.purpose;
          if (o.custodian) q.custodian = o.custodian;
          if (o.createdFrom || o.createdTo) q.created = { ...(o.createdFrom ? { from: o.createdFrom } : {}), ...(o.createdTo ? { to: o.createdTo } : {}) };
          if (o.activatedFrom || o.activatedTo) q.activated = { ...(o.activatedFrom ? { from: o.activatedFrom } : {}), ...(o.activatedTo ? { to: o.activatedTo } : {}) };
          if (o.rotationDueBefore) q.rotationDue = { to: o.rotationDueBefore };
          const now = Date.now();
          if (o.due !== undefined) {
            // What custodians rotate next: active versions past (or within DAYS of) the end of their
            // originator-usage period (SP 800-57 Pt 1 §5.3), soonest first.
            if (o.state || o.rotationDueBefore) throw usage('--due chooses the state and the rotation date itself.', 'Leave out --state and --rotation-due-before, or leave out --due.');
            q.state = ['active'];
            q.rotationDue = { to: new Date(now + (o.due === true ? 0 : o.due) * 86_400_000).toISOString() };
            q.sort ??= 'rotation-due';
            q.order ??= 'asc';
          }
          if (o.activeFor !== undefined || o.on !== undefined) {
            if (!o.activeFor || !o.on) throw usage('--active-for and --on go together.', 'Give the purpose and the date the data was written.');
            q.activeFor = { purpose: o.activeFor, on: o.on };
          }
          if (o.sort) q.sort = o.sort;
          if (o.order) q.order = o.order;
          if (o.limit !== undefined) q.limit = o.limit;
          if (o.offset !== undefined) q.offset = o.offset;
          if (o.count) q.countTotal = true;
          const page = a.search(q as SearchQuery);
          out(opts, page, () =>
            page.items.length === 0
              ? 'No archived key version matches.'
              : [
                  ...page.items.map((v) => line(v) + dueNote(v, now)),
                  `${page.items.length} shown${page.total !== undefined ? ` of ${page.total}` : ''}${page.hasMore ? ` — more with --offset ${page.offset + page.items.length}` : ''}`,
                ].join('\n'),
          );
        }),
    );

  archive
    .command('show')
    .description('one archived version: metadata, dates, check value, state history (read-only)')
    .addOption(archiveOption())
    .argument('<version>', 'version id, or LABEL (newest version) or LABEL@N')
    .action((version: string, o: ArchiveOpts) =>
      withArchive(program, o, 'read', async (a, _s, opts) => {
        const d = a.version(version);
        out(opts, d, () => detailText(d));
      }),
    );

  archive
    .command('state')
    .description('a lifecycle step: activate, suspend, resume, deactivate, compromise, destroy (destroy shreds the archived material)')
    .addOption(archiveOption())
    .argument('<version>', 'version id, or LABEL@N')
    .addOption(new Option('--action <action>').choices(['activate', 'suspend', 'resume', 'deactivate', 'compromise', 'destroy']).makeOptionMandatory())
    .addOption(new Option('--reason <text>'))
    .addOption(actorOption())
    .action((version: string, o: ArchiveOpts & { action: string; reason?: string }) =>
      withArchive(program, o, 'hsm', async (a, s, opts) => {
        if (!isLifecycleAction(o.action)) throw usage(`"${o.action}" is not a lifecycle action.`, 'Use activate, suspend, resume, deactivate, compromise or destroy.');
        refuseDestroyOutsideCeremony(a.ceremonyRows.profile() !== null, o.action, version);
        const v = await a.transition(version, o.action, { actor: (o.actor ?? (await s.activity.actorText())), ...(o.reason !== undefined ? { reason: o.reason } : {}) });
        out(opts, v, () => `${v.label}@${v.version} is now ${v.state}.`);
      }),
    );

  archive
    .command('retrieve')
    .description('plan the retrieval of an archived version under quorum (the custos/retrieval ceremony): into the HSM, or exported wrapped for another system; the purpose and the destination are bound into the fingerprint; the custodians approve it and the operator runs it with `custos ceremony …`')
    .argument('<version>', 'version id, or LABEL@N (archive search finds it, also by "active for purpose P on date D")')
    .addOption(new Option('--purpose <text>', 'why it is retrieved: what old data it opens, for whom (a sentence)').makeOptionMandatory())
    .addOption(new Option('--usages <list>', 'what the retrieved key may do, comma-separated (encrypt covers decrypt; sign covers verify; wrap covers unwrap); not with an export'))
    .addOption(new Option('--into <where>', 'a session object (gone when the session ends) or a token object').choices(['session', 'token']))
    .addOption(new Option('--label <label>', 'the retrieved object\'s label (default "LABEL vN (retrieved)")'))
    .addOption(new Option('--valid-days <n>', 'CKA_END_DATE this many days from now; Custos\'s own key commands refuse the key after it (the token keeps the date but does not enforce it)'))
    .addOption(new Option('--max-uses <n>', 'how many operations Custos\'s own key commands may do with the key (counted by Custos on the token, not enforced by the token)'))
    .addOption(new Option('--export-kek <key>', 'export instead: wrapped with AES-KWP (RFC 5649) under this KEK on the token (label or PKCS#11 URI)').conflicts(['exportPublicKey', 'into']))
    .addOption(new Option('--export-public-key <file>', 'export instead: RSA-OAEP + AES-KWP to this RSA public key (PEM or JWK file), as a cloud KMS import expects').conflicts(['exportKek', 'into']))
    .addOption(new Option('--profile <name>', 'with --export-public-key: the receiving service\'s import method (e.g. "AWS KMS RSA_AES_KEY_WRAP_SHA_256"); default OAEP-SHA256'))
    .addOption(new Option('--allow-weaker-wrapping-key', 'export although the target gives less security than the key (cloud KMS import keys are RSA-2048 to 4096)'))
    .addOption(new Option('--participant <name=roles>', 'a participant and the roles they take in the ceremony (repeat)').argParser((v: string, prev: string[] = []) => [...prev, v]))
    .action(async (version: string, o: { purpose: string; usages?: string; into?: string; label?: string; validDays?: string; maxUses?: string; exportKek?: string; exportPublicKey?: string; profile?: string; allowWeakerWrappingKey?: boolean; participant?: string[] }) => {
      const whole = (v: string | undefined, flag: string, example: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!(Number.isInteger(n) && n > 0)) throw usage(`${flag} "${v}" is not a whole number greater than 0.`, `For example ${flag} ${example}.`);
        return n;
      };
      const days = whole(o.validDays, '--valid-days', '30');
      const uses = whole(o.maxUses, '--max-uses', '100');
      if (o.profile && !o.exportPublicKey) throw usage('--profile is for --export-public-key.', 'Give the receiver\'s public key with --export-public-key FILE.');
      const exporting = o.exportKek !== undefined || o.exportPublicKey !== undefined;
      if (!exporting && !o.usages) throw usage('Say what the retrieved key may do with --usages, or export it with --export-kek or --export-public-key.', 'For example --usages encrypt.');
      const weaker = o.allowWeakerWrappingKey ? { allowWeaker: true } : {};
      const wrap = o.exportKek !== undefined
        ? { kek: o.exportKek, ...weaker }
        : o.exportPublicKey !== undefined
          ? { publicKey: readBounded(o.exportPublicKey, LIMITS.small, 'public key').toString('utf8'), ...(o.profile ? { profile: o.profile } : {}), ...weaker }
          : undefined;
      const params = {
        version,
        purpose: o.purpose,
        into: exporting ? 'export' : (o.into ?? 'session'),
        ...(o.usages ? { usages: o.usages.split(',').map((u) => u.trim()).filter(Boolean) } : {}),
        ...(o.label ? { label: o.label } : {}),
        ...(days !== undefined ? { validDays: days } : {}),
        ...(uses !== undefined ? { maxUses: uses } : {}),
        ...(wrap ? { wrap } : {}),
      };
      const ceremony = await loadCliModule<typeof import('./ceremony')>('commands/ceremony.mjs');
      await ceremony.planBuiltin(program, 'custos/retrieval', params, o.participant ?? []);
    });

  archive
    .command('verify')
    .description('check the archive: SQLite structure, audit chain and checkpoint signatures, the pinned audit key, the tables without MACs, and (with the HSM) every row MAC; read-only; exits non-zero on any failure')
    .addOption(archiveOption())
    .addOption(new Option('--no-hsm', 'skip the checks that need the HSM (row MACs, the HSM\'s keys)'))
    .addOption(new Option('--full', "run SQLite's integrity_check instead of quick_check: slower, and also compares every index with its table"))
    .addOption(new Option('--report <file>', 'write the full verdict (every problem) as JSON to FILE'))
    .addOption(new Option('--accept-rollback', 'accept an archive older than the last state this workstation saw (a backup restored on purpose)'))
    .action((o: ArchiveOpts & { hsm: boolean; full?: boolean; report?: string }) =>
      withArchive(program, o, o.hsm ? 'inspect' : 'report', async (a, _s, opts) => {
        if (o.report) checkOutputFile(o.report, 'verification report', { force: !!opts.force });
        const v = await a.verify({ withHsm: o.hsm, full: o.full === true });
        if (o.report) writeOutputFile(o.report, JSON.stringify(v, null, 2) + '\n', 'verification report', { mode: 0o600, force: !!opts.force });
        if (!v.ok) {
          if (!opts.json) for (const p of v.problems) process.stderr.write(`  problem: ${p.message}\n`);
          throw verdictError(v);
        }
        out(opts, v, () =>
          [
            `The archive verifies: ${v.entries} audit entries, ${v.checkpoints} signed checkpoints${v.withHsm ? `, ${v.rows} row MACs` : ' (row MACs not checked: --no-hsm)'}${v.full ? ', full integrity check' : ''}; ${v.tookMs} ms.`,
            `  ${auditKeyLine(v.auditKey)}`,
          ].join('\n'),
        );
      }),
    );

  archive
    .command('export')
    .description('write a signed bundle of selected keys (or all) for another workstation')
    .addOption(archiveOption())
    .addOption(new Option('--out <file>', 'the bundle file to write').makeOptionMandatory())
    .addOption(new Option('--key <label>', 'a key to include, with all its versions (repeatable; default: all keys)').argParser(collect))
    .addOption(actorOption())
    .action((o: ArchiveOpts & { out: string; key?: string[] }) => {
      // Checked before the login: a bundle is never written over a file, nor into a missing folder.
      checkOutputFile(o.out, 'bundle', { fresh: true });
      return withArchive(program, o, 'hsm', async (a, s, opts) => {
        const r = await exportBundle(a, o.out, { all: !o.key?.length, labels: o.key ?? [] }, o.actor ?? (await s.activity.actorText()));
        out(opts, r, () => `Wrote ${r.path}: ${r.records} records (${r.keys} keys, ${r.versions} versions), SHA-256 ${r.sha256}`);
      });
    });

  archive
    .command('import')
    .description("import a bundle signed by a trusted workstation; never overwrites newer data (conflicts stop the import unless --skip-conflicts)")
    .addOption(archiveOption())
    .argument('<bundle>', 'the bundle file')
    .addOption(new Option('--dry-run', 'check the bundle and report what would happen; change nothing'))
    .addOption(new Option('--skip-conflicts', 'import what does not conflict and report the rest'))
    .addOption(actorOption())
    .action((bundle: string, o: ArchiveOpts & { dryRun?: boolean; skipConflicts?: boolean }) => {
      checkBundleFile(bundle);
      return withArchive(program, o, 'hsm', async (a, s, opts) => {
        const r = await importBundle(a, bundle, { dryRun: o.dryRun === true, skipConflicts: o.skipConflicts === true }, o.actor ?? (await s.activity.actorText()));
        if (r.conflicts.length > 0 && !o.skipConflicts && !o.dryRun) {
          if (!opts.json) for (const c of r.conflicts) process.stderr.write(`  conflict: ${c.type} ${c.label ?? c.id}: ${c.reason}\n`);
          throw new CustosError({
            code: 'BUNDLE_CONFLICT',
            message: `Nothing was imported: ${r.conflicts.length} record(s) conflict with this archive. First: ${r.conflicts[0]!.type} ${r.conflicts[0]!.label ?? r.conflicts[0]!.id}: ${r.conflicts[0]!.reason}.`,
            action: 'Review the conflicts (--dry-run --json lists them all); import the rest with --skip-conflicts if that is right.',
            details: { conflicts: r.conflicts.length, inserted: r.inserted, updated: r.updated },
          });
        }
        out(opts, r, () =>
          [
            `${r.applied ? 'Imported' : o.dryRun ? 'Would import' : 'Nothing to import from'} bundle of "${r.bundleName}" (${r.bundleArchiveId}), signed by ${r.signedBy.slice(0, 16)}…`,
            `  ${r.inserted} new, ${r.updated} updated, ${r.unchanged} unchanged, ${r.conflicts.length} conflicts`,
            ...r.conflicts.map((c) => `  conflict: ${c.type} ${c.label ?? c.id}: ${c.reason}`),
          ].join('\n'),
        );
      });
    });

  archive
    .command('trust')
    .description("trust another workstation's audit public key for bundle imports")
    .addOption(archiveOption())
    .addOption(new Option('--public-key <file>', "the other workstation's audit public key (PEM)").makeOptionMandatory())
    .addOption(new Option('--name <name>', 'a name for it').makeOptionMandatory())
    .addOption(actorOption())
    .action((o: ArchiveOpts & { publicKey: string; name: string }) => {
      const text = readBounded(o.publicKey, LIMITS.small, 'public key').toString('utf8');
      return withArchive(program, o, 'hsm', async (a, s, opts) => {
        const r = await trustWorkstation(a, text, o.name, o.actor ?? (await s.activity.actorText()));
        out(opts, r, () => `${r.added ? 'Now trusting' : 'Already trusted:'} "${r.name}", audit key fingerprint ${r.fingerprint}`);
      });
    });

  archive
    .command('info')
    .description("the archive's identity, keys, counts and audit public key, and whether the key is the one this workstation pinned (read-only)")
    .addOption(archiveOption())
    .addOption(new Option('--public-key-out <file>', 'write the audit public key (PEM) to FILE, for `archive trust` elsewhere; refused when the key is not the pinned one or the HSM\'s'))
    .addOption(new Option('--check-hsm', "also compare the stored audit key with the HSM's (logs in to the archive's token)"))
    .action((o: ArchiveOpts & { publicKeyOut?: string; checkHsm?: boolean }) =>
      withArchive(program, o, o.checkHsm ? 'inspect' : 'report', async (a, _s, opts) => {
        if (o.publicKeyOut) checkOutputFile(o.publicKeyOut, 'audit public key', { force: !!opts.force });
        const i = { ...a.info(), ...(o.checkHsm ? { auditKey: await a.checkAuditKey() } : {}) };
        if (auditKeyMismatch(i.auditKey)) {
          // Said on stderr as well, so that it is seen even when stdout goes to a script.
          if (!opts.json) process.stderr.write(`warning: ${auditKeyLine(i.auditKey)}\n`);
          if (o.publicKeyOut) {
            throw new CustosError({
              code: 'ARCHIVE_TAMPERED',
              message: `The audit key stored in the archive (${i.auditKey.stored.slice(0, 16)}…) is not ${i.auditKey.matchesHsm === false ? "the HSM's" : i.auditKey.matchesPin === false ? 'the one this workstation pinned' : 'the one its recorded fingerprint names'}: it was swapped, so it is not handed out. Nothing was written.`,
              action: 'Do not trust bundles or evidence signed by this key. Run `custos archive verify` and restore the archive from a trusted copy.',
              details: { stored: i.auditKey.stored, ...(i.auditKey.pinned ? { pinned: i.auditKey.pinned } : {}), ...(i.auditKey.hsm ? { hsm: i.auditKey.hsm } : {}) },
            });
          }
        }
        if (o.publicKeyOut) writeOutputFile(o.publicKeyOut, i.keys.audit.publicKeyPem, 'audit public key', { force: !!opts.force });
        out(opts, i, () =>
          [
            `archive "${i.name}" (${i.archiveId}), ${i.formatId} schema ${i.schemaVersion}, created ${i.createdAt}`,
            `  ${i.counts.keys} keys, ${i.counts.versions} versions, ${i.counts.auditEntries} audit entries, ${i.counts.checkpoints} checkpoints, ${i.counts.trusted} trusted workstations`,
            `  Archive KEK ${i.keys.kek.label} check ${i.keys.kek.check}; MAC key ${i.keys.mac.label} check ${i.keys.mac.check}`,
            `  audit key ${i.keys.audit.label} fingerprint ${i.keys.audit.fingerprint}`,
            // Keys audit key rotations retired: kept so that what they signed still verifies.
            ...i.keys.audit.retired.map((k) => `  retired audit key ${k.label} fingerprint ${k.fingerprint} (handed over at entry ${k.handoverSeq})`),
            `  ${auditKeyLine(i.auditKey)}`,
            i.lastCheckpoint ? `  last checkpoint ${i.lastCheckpoint.seq} at ${i.lastCheckpoint.at}` : '  no checkpoint yet',
          ].join('\n'),
        );
      }),
    );
}
