// Shared set-up for the archive tests: a SoftHSM2 token, one HSM host process, a logged-in session.
import { join } from 'node:path';
import { HsmClient } from '../../electron/hsm/client';
import type { GenerateSpec } from '../../electron/hsm/protocol';
import { nodeHostSpawner } from '../../electron/hsm/client/spawn-node';
import { AnchorStore } from '../../electron/services/archive/anchors';
import type { HsmBinding } from '../../electron/services/archive/crypto';
import { ArchiveService } from '../../electron/services/archive/service';
import { CustosError, type AppError } from '../../shared/result';
import { HOST_SCRIPT, requireBuild, SOFTHSM_MODULE, softhsm, type SoftHsmFixture } from '../helpers/softhsm';

export const USER_PIN = '246810';
export const SO_PIN = '13579135';
export const TOKEN = 'Archive';

export interface ArchiveFixture {
  fx: SoftHsmFixture;
  hsm: HsmClient;
  binding: HsmBinding;
  anchors: AnchorStore;
  dataDir: string;
  file(name: string): string;
  generate(type: GenerateSpec['type'], label: string, opts?: { extractable?: boolean; usages?: GenerateSpec['usages'] }): Promise<{ label: string; idHex: string }>;
  init(name?: string, file?: string): Promise<ArchiveService>;
  close(): Promise<void>;
}

let counter = 0;

export async function archiveFixture(prefix = 'custos-archive-'): Promise<ArchiveFixture> {
  requireBuild();
  const fx = softhsm(prefix);
  fx.initToken(TOKEN, { so: SO_PIN, user: USER_PIN });
  const hsm = new HsmClient(nodeHostSpawner(HOST_SCRIPT, fx.env));
  await hsm.call('login', { path: SOFTHSM_MODULE, token: TOKEN, role: 'user', pin: USER_PIN });
  const binding: HsmBinding = { hsm, module: SOFTHSM_MODULE, token: TOKEN };
  const dataDir = join(fx.dir, 'data');
  const anchors = new AnchorStore(dataDir);
  const defaults: Record<string, GenerateSpec['usages']> = { hmac: ['sign'], ec: ['sign'], rsa: ['sign'], ed: ['sign'] };
  return {
    fx,
    hsm,
    binding,
    anchors,
    dataDir,
    file: (name) => join(fx.dir, name),
    async generate(type, label, opts = {}) {
      const idHex = (++counter).toString(16).padStart(8, '0') + Math.random().toString(16).slice(2, 10).padEnd(8, '0');
      const usages = opts.usages ?? defaults[type.split('-')[0]!] ?? ['encrypt'];
      await hsm.call('generate', { path: SOFTHSM_MODULE, token: TOKEN, spec: { type, label, idHex, usages, extractable: opts.extractable ?? true } });
      return { label, idHex };
    },
    init(name = 'Workstation A', file = 'archive.custos') {
      return ArchiveService.init(join(fx.dir, file), { hsm: binding, name, actor: 'test', anchors });
    },
    async close() {
      await hsm.close();
      fx.cleanup();
    },
  };
}

/** The AppError a promise (or function) failed with; fails the test if it succeeded. */
export async function failure(p: Promise<unknown> | (() => unknown)): Promise<AppError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CustosError) return e.appError;
    throw e;
  }
  throw new Error('expected a failure, but the call succeeded');
}
