// The audit log as an Audit screen sees it: the trail (per key, per row, or everything), the
// verification verdict, and the offline-verifiable export. The log lives in the archive file and
// its checkpoints verify with the public key alone, so none of this needs the HSM.
import type { AuditPage, VerifyVerdict } from '../../../shared/archive/types';
import type { ArchiveManager } from '../archive/index';

export class AuditService {
  constructor(private readonly archives: ArchiveManager) {}

  trail(path: string, filter: { keyId?: string; objectType?: string; objectId?: string; action?: string; limit?: number; beforeSeq?: number } = {}): Promise<AuditPage> {
    return this.archives.with(path, { readonly: true }, (a) => a.auditTrail(filter));
  }

  /** Chain + checkpoint signatures + rollback anchor (no HSM; row MACs are `archive verify`'s job). */
  verify(path: string): Promise<VerifyVerdict> {
    return this.archives.with(path, { readonly: true }, (a) => a.verify({ withHsm: false }));
  }

  export(path: string, dir: string): Promise<{ dir: string; entries: number; checkpoints: number; files: Record<string, string> }> {
    return this.archives.with(path, { readonly: true }, (a) => a.exportAudit(dir));
  }
}

export { AuditLog } from './log';
