// `custos audit …`: the archive's tamper-evident audit log. Verification and export need no HSM:
// checkpoint signatures are checked with the audit public key stored in the archive, which must be
// the one this workstation pinned for the archive (and, with --public-key, the key the auditor
// brought along: on a workstation that has no pin for the archive, that is the only check of whose
// key it is).
import { chmodSync, existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CustosError, fail } from '../../../shared/result';
import { writeFolderAtomic } from '../../services/files/atomic';
import { parsePublicKey, spkiFingerprint } from '../../services/formats/publicKey';
import { auditKeyLine } from '../../../shared/archive/audit-key';
import { out, withServices } from '../context';
import { checkOutputFile, checkOutputFolder, LIMITS, readBounded, writeOutputFile } from '../files';
import { intOption } from '../options';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description("the archive's audit log: verify, export, trail");

  audit
    .command('verify')
    .description('recompute the hash chain and check every checkpoint signature; names the first bad entry; exits non-zero on any failure')
    .addOption(new Option('--archive <file>', 'the archive file').makeOptionMandatory())
    .addOption(new Option('--public-key <file>', 'the audit public key you expect (PEM); refuses an archive signed by another key'))
    .addOption(new Option('--report <file>', 'write the full verdict as JSON to FILE'))
    .action((o: { archive: string; publicKey?: string; report?: string }) =>
      withServices(program, async (s, opts) => {
        // Opened even when the stored key is not the pinned one: the verdict says so.
        // The expected key and the report path are checked before the archive is opened.
        const expected = o.publicKey ? spkiFingerprint(parsePublicKey(readBounded(o.publicKey, LIMITS.small, 'public key').toString('utf8')).spki).hex : undefined;
        if (o.report) checkOutputFile(o.report, 'verification report', { force: !!opts.force });
        await s.archive.read(o.archive, async (a) => {
          if (expected !== undefined) {
            // After audit key rotations, a key the log hands over from (each handover checked) is
            // accepted too: the fingerprint written down when the archive was created stays useful.
            if (!a.auditKeyChain().includes(expected)) {
              throw new CustosError({
                code: 'AUDIT_CHAIN_BROKEN',
                message: `The archive's audit key (${a.workstation.audit_fingerprint.slice(0, 16)}…) is not the key you gave (${expected.slice(0, 16)}…): its log may have been re-signed by someone else.`,
                action: 'Compare the fingerprints with the one recorded when the archive was created.',
              });
            }
          }
          const v = await a.verify({ withHsm: false });
          if (o.report) writeOutputFile(o.report, JSON.stringify(v, null, 2) + '\n', 'verification report', { mode: 0o600, force: !!opts.force });
          if (!v.ok) {
            if (!opts.json) for (const p of v.problems) process.stderr.write(`  problem: ${p.message}\n`);
            const first = v.problems[0];
            throw new CustosError({
              code: 'AUDIT_CHAIN_BROKEN',
              message: `The audit log does not verify${v.firstBadEntry !== null ? `; the first bad entry is ${v.firstBadEntry}` : ''}. ${first?.message ?? ''}`.trim(),
              action: 'Do not trust this log. Keep the file as evidence and compare it with an earlier export (custos audit export).',
              details: { firstBadEntry: v.firstBadEntry ?? 0, problems: v.problems.length + v.moreProblems },
            });
          }
          out(opts, v, () =>
            [
              `The audit log verifies: ${v.entries} entries, ${v.checkpoints} signed checkpoints (last: ${v.lastCheckpoint?.seq ?? '—'} at ${v.lastCheckpoint?.at ?? '—'}); ${v.tookMs} ms.`,
              `  ${auditKeyLine(v.auditKey)}${v.auditKey.matchesPin === null && o.publicKey ? ' (it is the key given with --public-key)' : ''}`,
            ].join('\n'),
          );
        }, { reportAuditKey: true });
      }),
    );

  audit
    .command('export')
    .description('write the log as JSON Lines with the checkpoint signatures and the audit public key, verifiable with OpenSSL (docs/FORMAT.md)')
    .addOption(new Option('--archive <file>', 'the archive file').makeOptionMandatory())
    .addOption(new Option('--out <dir>', 'the folder to write into').makeOptionMandatory())
    .action((o: { archive: string; out: string }) =>
      withServices(program, async (s, opts) => {
        checkOutputFolder(o.out, 'audit export');
        const r = await s.archive.read(o.archive, (a) => exportAuditAtomic(o.out, !!opts.force, (dir) => a.exportAudit(dir)));
        out(opts, r, () => `Wrote ${r.entries} entries and ${r.checkpoints} checkpoints to ${r.dir} (audit.jsonl, checkpoints.jsonl, audit-public-key.pem, manifest.json).`);
      }),
    );

  audit
    .command('trail')
    .description('audit entries, newest first: all, or for one key (read-only)')
    .addOption(new Option('--archive <file>', 'the archive file').makeOptionMandatory())
    .addOption(new Option('--key <label>', 'only entries about this key'))
    .addOption(new Option('--limit <n>', 'how many (1–500, default 50)').argParser(intOption('--limit', 1, 500)))
    .addOption(new Option('--before <seq>', 'entries before this sequence number (1 or more)').argParser(intOption('--before', 1, Number.MAX_SAFE_INTEGER)))
    .action((o: { archive: string; key?: string; limit?: number; before?: number }) =>
      withServices(program, async (s, opts) => {
        await s.archive.read(o.archive, async (a) => {
          const keyId = o.key ? a.resolveVersion(o.key).key_id : undefined;
          const page = a.auditTrail({ ...(keyId ? { keyId } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}), ...(o.before !== undefined ? { beforeSeq: o.before } : {}) });
          out(opts, page, () => page.entries.map((e) => `${String(e.seq).padStart(6)}  ${e.at}  ${e.actor}  ${e.action}${e.objectType ? `  ${e.objectType} ${e.objectId}` : ''}`).join('\n') || 'No entries.');
        });
      }),
    );
}

/**
 * The audit export into `out`, atomically: a new folder is made beside it and renamed into place
 * when every file is written (services/files/atomic.ts), files 0600 (the log names people and
 * keys). A folder that exists and holds files is refused unless --force, which then writes into
 * it file by file (each file still replaced whole); an empty one is taken as the place to write.
 */
async function exportAuditAtomic<T extends { dir: string }>(out: string, force: boolean, write: (dir: string) => T): Promise<T> {
  const target = resolve(out);
  if (existsSync(target)) {
    if (readdirSync(target).length > 0) {
      if (!force) fail('FILE_EXISTS', `${out} already holds files; Custos does not write an export over them unless told to.`, 'Name a new or empty folder, or add --force to write into this one.', { path: out });
      const r = write(target);
      for (const n of readdirSync(target)) if (statSync(join(target, n)).isFile()) chmodSync(join(target, n), 0o600);
      return r;
    }
    rmdirSync(target);
  }
  let r: T | undefined;
  await writeFolderAtomic(dirname(target), basename(target), (tmp) => void (r = write(tmp)), { mode: 0o600 });
  return { ...r!, dir: target };
}
