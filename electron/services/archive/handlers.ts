// The archive and its audit log as the Archive and Audit screens use them: the contract's
// `archive.*` and `audit.*` methods over the door (door.ts). One archive per data folder, opened for
// each request and closed after it; results in the contract's plain shapes. Errors from the
// services are CustosErrors already and pass through unchanged. The audit log lives in the archive
// file and its checkpoints verify with the public key alone, so the audit methods need no HSM.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchQuery } from '../../../shared/archive/types';
import type { ArchiveStatus, AuditExport } from '../../../shared/contract';
import { objectUri } from '../../../shared/pkcs11-uri';
import { CustosError } from '../../../shared/result';
import type { Handlers } from '../../ipc/handle';
import { actorName, tokenLabelOf, type ArchiveDoor } from './door';
import { refuseDestroyOutsideCeremony } from './transitions';

type ArchiveMethods = 'archive.status' | 'archive.init' | 'archive.search' | 'archive.version' | 'archive.add' | 'archive.transition' | 'audit.trail' | 'audit.verify' | 'audit.export';

export interface ArchiveHandlerDeps {
  door: ArchiveDoor;
  /** The window may use configured PKCS#11 modules only (TokenService.withConfigured). */
  withConfigured<T>(module: string, work: () => Promise<T>): Promise<T>;
  /** Who acts on a token, for the audit log: the person who logged in to it (activity/activity.ts), else the OS user. */
  actor?(t: { module: string; token: string }): Promise<string>;
}

export function archiveHandlers({ door, withConfigured, actor: actorOf }: ArchiveHandlerDeps): Pick<Handlers, ArchiveMethods> {
  const actor = (t: { module: string; token: string }): Promise<string> => (actorOf ? actorOf(t) : Promise.resolve(actorName('app')));
  const status = async (): Promise<ArchiveStatus> => {
    const { path, exists } = door.locate();
    if (!exists) return { exists: false, path };
    const info = await door.read(path, (a) => a.info());
    return { exists: true, path, info, token: info.tokenUri ? { uri: info.tokenUri, label: tokenLabelOf(info.tokenUri) } : null };
  };

  return {
    'archive.status': status,

    'archive.init': async (input) => {
      const { path, exists } = door.locate();
      if (exists) {
        throw new CustosError({
          code: 'ARCHIVE_EXISTS',
          message: 'This data folder already holds a key archive; Custos keeps one archive per data folder.',
          action: 'Use the existing archive.',
          details: { path },
        });
      }
      const token = { module: input.module, token: input.token };
      const by = await actor(token);
      const a = await withConfigured(input.module, () => door.init(path, { token, name: input.name, actor: by, tokenUri: input.token }));
      a.close();
      return status();
    },

    'archive.search': async (query) => {
      const q: SearchQuery = { ...query };
      return door.read(door.existing(), (a) => a.search(q));
    },

    'archive.version': async ({ versionId }) => door.read(door.existing(), (a) => a.version(versionId)),

    'archive.add': async (input) => {
      const token = { module: input.module, token: input.token };
      const hsmRef = { ...(input.key.label ? { label: input.key.label } : {}), ...(input.key.idHex ? { idHex: input.key.idHex } : {}), kind: input.key.kind };
      if (!hsmRef.label && !hsmRef.idHex) {
        throw new CustosError({ code: 'INVALID_INPUT', message: 'The key on the token has neither a label nor an id, so it cannot be named.', action: 'Give the key a label on the token first.' });
      }
      const item = {
        hsm: hsmRef,
        sourceUri: objectUri(input.token, hsmRef),
        key: { label: input.label, purpose: input.purpose, tags: input.tags, ...(input.description ? { description: input.description } : {}) },
        activate: input.activate,
        ...(input.activate && input.activationDate ? { activationDate: input.activationDate } : {}),
      };
      const path = door.existing();
      const by = await actor(token);
      const [r] = await withConfigured(input.module, () => door.write(path, token, (a) => a.add([item], by)));
      return r!;
    },

    'archive.transition': async (input) => {
      const path = door.existing();
      const by = await actor({ module: input.module, token: input.token });
      return withConfigured(input.module, () =>
        door.write(path, { module: input.module, token: input.token }, (a) => {
          refuseDestroyOutsideCeremony(a.ceremonyRows.profile() !== null, input.action, input.versionId);
          return a.transition(input.versionId, input.action, { actor: by, ...(input.reason ? { reason: input.reason } : {}) });
        }),
      );
    },

    'audit.trail': async (input) =>
      door.read(door.existing(), (a) => a.auditTrail({ ...(input.keyId ? { keyId: input.keyId } : {}), limit: input.limit, ...(input.beforeSeq ? { beforeSeq: input.beforeSeq } : {}) })),

    /**
     * Chain + checkpoint signatures + rollback anchor + pinned audit key (no HSM; row MACs are
     * `archive verify`'s job). A stored key that is not the pinned one is reported in the verdict.
     */
    'audit.verify': async () => door.read(door.existing(), (a) => a.verify({ withHsm: false }), { reportAuditKey: true }),

    /** Writes into <data folder>/exports/audit-<UTC timestamp>/ (a new folder each time). */
    'audit.export': async (): Promise<AuditExport> => {
      const path = door.existing();
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      let dir = join(door.dataDir, 'exports', `audit-${stamp}`);
      for (let i = 2; existsSync(dir); i++) dir = join(door.dataDir, 'exports', `audit-${stamp}-${i}`);
      const r = await door.read(path, (a) => a.exportAudit(dir));
      const names = readdirSync(r.dir).filter((n) => !n.startsWith('.')).sort();
      return {
        dir: r.dir,
        entries: r.entries,
        checkpoints: r.checkpoints,
        files: names.map((name) => ({ name, bytes: statSync(join(r.dir, name)).size, sha256: r.files[name] ?? null })),
      };
    },
  };
}
