// The main-process services, built once per process: the core (data folder, configuration, HSM
// client, tokens, keys; services/core.ts) and, on first use, the share service, restore drills,
// the archive and its audit log. The Electron app, the preview shell, the tests and the CLI's
// archive commands use this; the CLI's token, key and share commands build only what they use.
import { DEMO_TOKEN_LABEL } from '../../shared/demo';
import type { Handlers } from '../ipc/handle';
import { ArchiveManager } from './archive/index';
import { ArchiveUi } from './archive-ui';
import { AuditService } from './audit/index';
import { createCore, type CoreServices, type ServicesOptions } from './core';
import { DrillService, readRecordView, ShareService, verifyShare } from './shares/index';
import { VERSION } from './version';

export { VERSION } from './version';
export type { CoreServices, ServicesOptions } from './core';

export interface Services extends CoreServices {
  /** Split knowledge that uses a token: shares sealed to custodians' cards, XOR components into the HSM. */
  shares: ShareService;
  /** The encrypted key archive (SQLite) and its HSM keys. */
  archive: ArchiveManager;
  /** The archive's tamper-evident audit log: trail, verification, offline export. */
  audit: AuditService;
  /** Share checks and restore drills: a drill's shares live in this process's memory only, wiped when it ends. */
  drills: DrillService;
}

/** Builds the main-process services; each beyond the core is made when first used. */
export function createServices(opts: ServicesOptions): Services {
  const core = createCore(opts);
  let shares: ShareService | undefined;
  let archive: ArchiveManager | undefined;
  let audit: AuditService | undefined;
  let drills: DrillService | undefined;
  return {
    ...core,
    get shares() {
      return (shares ??= new ShareService(core.hsm));
    },
    get archive() {
      return (archive ??= new ArchiveManager(core.hsm, opts.dataDir));
    },
    get audit() {
      return (audit ??= new AuditService(this.archive));
    },
    get drills() {
      return (drills ??= new DrillService({ log: (line) => opts.log?.(line) }));
    },
    close: async () => {
      drills?.close();
      await core.close();
    },
  };
}

export function createHandlers(s: Services, shell: 'electron' | 'preview'): Handlers {
  const archiveUi = new ArchiveUi(s);
  return {
    'app.info': async () => ({
      version: VERSION,
      shell,
      dataDir: s.dataDir,
      demo: {
        available: s.demo.available,
        exists: s.config.read().demo,
        label: DEMO_TOKEN_LABEL,
        ...(s.demo.reason ? { reason: s.demo.reason } : {}),
      },
    }),
    'tokens.list': () => s.tokens.listing(),
    'modules.add': ({ path }) => s.tokens.addModule(path),
    'modules.remove': ({ path }) => s.tokens.removeModule(path),
    'tokens.createDemo': ({ soPin, userPin }) => s.tokens.createDemo(soPin, userPin),
    'session.login': ({ module, token, pin, role }) => s.tokens.login(module, token, pin, role),
    'session.logout': ({ module, token }) => s.tokens.logout(module, token),
    'keys.capabilities': (t) => s.tokens.withConfigured(t.module, () => s.keys.capabilities(t)),
    'keys.list': (t) => s.tokens.withConfigured(t.module, () => s.keys.list(t)),
    'keys.show': ({ key, ...t }) => s.tokens.withConfigured(t.module, () => s.keys.show(t, key)),
    'keys.generate': ({ type, label, usages, extractable, ...t }) => s.tokens.withConfigured(t.module, () => s.keys.generate(t, { type, label, usages, extractable })),
    'keys.exportPublic': async ({ key, format, ...t }) => ({ text: await s.tokens.withConfigured(t.module, () => s.keys.exportPublic(t, key, format)) }),
    'keys.csr': async ({ key, subject, ...t }) => ({ pem: await s.tokens.withConfigured(t.module, () => s.keys.csr(t, key, subject)) }),
    'keys.destroy': async ({ key, confirmLabel, ...t }) => ({ destroyed: (await s.tokens.withConfigured(t.module, () => s.keys.destroy(t, key, confirmLabel))).destroyed }),
    'shares.readRecord': async ({ recordJson }) => readRecordView(recordJson),
    'shares.verify': ({ recordJson, mnemonic, holder }) => verifyShare(recordJson, mnemonic, holder),
    'drill.start': async ({ recordJson }) => s.drills.start(recordJson),
    'drill.addShare': ({ drillId, mnemonic, expected }) => s.drills.addShare(drillId, mnemonic, expected),
    'drill.finish': ({ drillId, passphrase }) => s.drills.finish(drillId, passphrase),
    'drill.cancel': ({ drillId }) => s.drills.cancel(drillId),
    'archive.status': async () => archiveUi.status(),
    'archive.init': (input) => archiveUi.init(input),
    'archive.search': async (query) => archiveUi.search(query),
    'archive.version': async ({ versionId }) => archiveUi.version(versionId),
    'archive.add': (input) => archiveUi.add(input),
    'archive.transition': (input) => archiveUi.transition(input),
    'audit.trail': (input) => archiveUi.trail(input),
    'audit.verify': () => archiveUi.verify(),
    'audit.export': () => archiveUi.exportAudit(),

  };
}
