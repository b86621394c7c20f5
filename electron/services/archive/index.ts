// The archive as the rest of the app sees it: open / init archives by path, bound to a logged-in
// token when the step needs the HSM. Search and show need no HSM and open the file read-only.
import type { HsmClient } from '../../hsm/client';
import { AnchorStore } from './anchors';
import { exportBundle, importBundle, readBundle, trustWorkstation } from './bundle';
import { ArchiveService, type ArchiveOpenOptions } from './service';

export interface TokenRef {
  module: string;
  token: string;
}

export class ArchiveManager {
  readonly anchors: AnchorStore;

  constructor(
    private readonly hsm: HsmClient,
    dataDir: string,
  ) {
    this.anchors = new AnchorStore(dataDir);
  }

  /** Opens an archive; with `token`, the archive's HSM keys are used for writes and unwraps (log in first). */
  open(path: string, opts: { token?: TokenRef | null; readonly?: boolean; acceptRollback?: boolean } = {}): ArchiveService {
    const o: ArchiveOpenOptions = { anchors: this.anchors, readonly: opts.readonly ?? false, acceptRollback: opts.acceptRollback ?? false };
    if (opts.token) o.hsm = { hsm: this.hsm, module: opts.token.module, token: opts.token.token };
    return ArchiveService.open(path, o);
  }

  /** Creates an archive and its three keys in the HSM (log in first). */
  init(path: string, opts: { token: TokenRef; name: string; actor: string; tokenUri?: string | null }): Promise<ArchiveService> {
    return ArchiveService.init(path, {
      hsm: { hsm: this.hsm, module: opts.token.module, token: opts.token.token },
      name: opts.name,
      actor: opts.actor,
      tokenUri: opts.tokenUri ?? null,
      anchors: this.anchors,
    });
  }

  /** Runs `fn` with an open archive and closes it afterwards. */
  async with<T>(path: string, opts: Parameters<ArchiveManager['open']>[1], fn: (a: ArchiveService) => Promise<T> | T): Promise<T> {
    const a = this.open(path, opts);
    try {
      return await fn(a);
    } finally {
      a.close();
    }
  }
}

export { ArchiveService, exportBundle, importBundle, readBundle, trustWorkstation };
export type { AddItem, AddResult, RestoreTemplate } from './service';
