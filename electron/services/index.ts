// The main-process services, built once per process: the core (data folder, configuration, HSM
// client, tokens, keys; services/core.ts) and, on first use, the share service, restore drills,
// the archive with its audit log, and the ceremonies. The Electron app, the preview shell, the
// tests and the CLI's archive and ceremony commands use this; the CLI's token, key and share
// commands build only what they use.
import type { CeremonyEvent } from '../../shared/ceremony/contract';
import { DEMO_TOKEN_LABEL } from '../../shared/demo';
import { HsmClient } from '../hsm/client';
import type { Handlers } from '../ipc/handle';
import { ArchiveDoor, archiveHandlers } from './archive/index';
import { ceremonyHandlers } from './ceremony/handlers';
import { CeremonyService } from './ceremony/service';
import { createCore, type CoreServices, type ServicesOptions } from './core';
import { hostEnvironment } from './demo';
import { FileService } from './files/service';
import { folderPlaces } from './files/places';
import { KeyService } from './key-service';
import { DrillService, readRecordView, ShareService, verifyShare } from './shares/index';
import { VERSION } from './version';

export { VERSION } from './version';
export type { CoreServices, ServicesOptions } from './core';

export interface Services extends CoreServices {
  /** Split knowledge that uses a token: shares sealed to custodians' cards, XOR components into the HSM. */
  shares: ShareService;
  /** The encrypted key archive (SQLite), its HSM keys and its audit log: the one door both front ends open it through. */
  archive: ArchiveDoor;
  /** Share checks and restore drills: a drill's shares live in this process's memory only, wiped when it ends. */
  drills: DrillService;
  /** Ceremonies: definitions, runs and their journals in the workstation record, approvals, evidence. */
  ceremonies: CeremonyService;
  /** Saving artefacts to removable media and loading public records from it (files/service.ts). */
  files: FileService;
  /** Events for the window (a ceremony changed): the shells forward them on the event channel. */
  events: { subscribe(listener: (event: CeremonyEvent) => void): () => void };
}

/** Builds the main-process services; each beyond the core is made when first used. */
export function createServices(opts: ServicesOptions): Services {
  const core = createCore(opts);
  let shares: ShareService | undefined;
  let archive: ArchiveDoor | undefined;
  let drills: DrillService | undefined;
  let ceremonies: CeremonyService | undefined;
  let files: FileService | undefined;
  const listeners = new Set<(event: CeremonyEvent) => void>();
  const events = {
    subscribe(listener: (event: CeremonyEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  return {
    ...core,
    events,
    get shares() {
      return (shares ??= new ShareService(core.hsm));
    },
    get archive() {
      return (archive ??= new ArchiveDoor(core.hsm, opts.dataDir, (line) => (opts.notice ?? opts.log)?.(line), opts.shell === 'cli' ? 'cli' : 'app'));
    },
    get drills() {
      return (drills ??= new DrillService({ log: (line) => opts.log?.(line) }));
    },
    get ceremonies() {
      return (ceremonies ??= new CeremonyService({
        hsm: core.hsm,
        door: this.archive,
        dataDir: opts.dataDir,
        version: VERSION,
        // The SO's part of a backup commit runs in a host of its own: the SO and the user cannot be
        // logged in at once in one process (hsm/host/trusted.ts).
        newHost: () => new HsmClient(opts.spawnHost(hostEnvironment(core.demo)), { sharedArena: false }),
        // The ceremony journals its own CSR step: the unaudited service, so it is not recorded twice.
        csr: (t, selector, subject) => new KeyService(core.hsm).csr(t, selector, subject),
        via: opts.shell === 'cli' ? 'cli' : 'app',
        activity: core.activity,
        emit: (event) => {
          for (const l of [...listeners]) l(event);
        },
      }));
    },
    get files() {
      return (files ??= new FileService({
        keys: core.keys,
        withConfigured: (module, work) => core.tokens.withConfigured(module, work),
        archive: () => this.archive,
        ceremonies: () => this.ceremonies,
        activity: core.activity,
        places: opts.places ?? folderPlaces(null),
      }));
    },
    close: async () => {
      drills?.close();
      ceremonies?.close();
      await core.close();
    },
  };
}

export function createHandlers(s: Services, shell: 'electron' | 'preview'): Handlers {
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
    'tokens.createDemo': async ({ soPin, userPin }) => {
      const slot = await s.tokens.createDemo(soPin, userPin);
      // The demo token comes with a practice record: everything made on it is marked practice.
      if (slot.token) await s.ceremonies.createPracticeRecord({ module: slot.module, token: slot.token.uri }, userPin);
      return s.tokens.listing().then((l) => l.slots.find((x) => x.token?.uri === slot.token?.uri) ?? slot);
    },
    'session.login': ({ module, token, pin, role, person }) => s.tokens.login(module, token, pin, role, true, undefined, person ?? null),
    'session.operators': () => s.activity.operatorPolicy(),
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
    ...archiveHandlers({ door: s.archive, withConfigured: (module, work) => s.tokens.withConfigured(module, work), actor: (t) => s.activity.actorText(t) }),
    'files.where': async () => s.files.where(),
    'files.save': ({ artefact, replace }) => s.files.save(artefact, replace ? { replace } : {}),
    'files.open': ({ kind, name }) => s.files.open(kind, name),
    ...ceremonyHandlers({ ceremonies: s.ceremonies, withConfigured: (module, work) => s.tokens.withConfigured(module, work) }),
  };
}
