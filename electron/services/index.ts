import { mkdirSync } from 'node:fs';
import type { CeremonyEvent } from '../../shared/ceremony/contract';
import { DEMO_TOKEN_LABEL } from '../../shared/contract';
import { HsmClient, type SpawnHost } from '../hsm/client';
import type { Handlers } from '../ipc/handle';
import { ArchiveDoor, archiveHandlers } from './archive/index';
import { CardShareService } from './cardshares';
import { ceremonyHandlers } from './ceremony/handlers';
import { CeremonyService } from './ceremony/service';
import { ConfigStore } from './config';
import { DrillService, readRecordView, verifyShare } from './drill';
import { ComponentImportService } from './import';
import { KeyService } from './keys';
import { demoEnvironment, hostEnvironment, prepareDemoFiles, TokenService, type DemoEnvironment } from './tokens';

export const VERSION = '0.1.0';

export interface ServicesOptions {
  dataDir: string;
  shell: 'electron' | 'preview' | 'cli';
  /** Given the host's environment, returns a spawner (utilityProcess or child process). */
  spawnHost(env: NodeJS.ProcessEnv): SpawnHost;
  log?(line: string): void;
}

export interface Services {
  dataDir: string;
  demo: DemoEnvironment;
  config: ConfigStore;
  hsm: HsmClient;
  tokens: TokenService;
  keys: KeyService;
  /** Shares sealed to custodians' cards (custos.sealedshare v1). */
  cardShares: CardShareService;
  /** XOR key components into the HSM. */
  imports: ComponentImportService;
  /** The encrypted key archive (SQLite), its HSM keys and its audit log: the one door both front ends open it through. */
  archive: ArchiveDoor;
  /** Share checks and restore drills: a drill's shares live in this process's memory only, wiped when it ends. */
  drills: DrillService;
  /** Ceremonies: definitions, runs and their journals in the workstation record, approvals, evidence. */
  ceremonies: CeremonyService;
  /** Events for the window (a ceremony changed): the shells forward them on the event channel. */
  events: { subscribe(listener: (event: CeremonyEvent) => void): () => void };
  close(): Promise<void>;
}

/** Builds the main-process services; the Electron app, the preview shell and the CLI all use this. */
export function createServices(opts: ServicesOptions): Services {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const demo = demoEnvironment(opts.dataDir);
  const config = new ConfigStore(opts.dataDir);
  prepareDemoFiles(demo);
  const hsm = new HsmClient(opts.spawnHost(hostEnvironment(demo)), {
    onRestart: (why) => opts.log?.(`HSM host stopped (${why}); it restarts on the next request`),
  });
  const tokens = new TokenService(hsm, config, demo);
  // Start the HSM host now, in parallel with the window, so the first token list does not wait for it.
  if (opts.shell !== 'cli') void hsm.call('ping', {}).catch(() => undefined);
  const keys = new KeyService(hsm);
  const cardShares = new CardShareService(hsm);
  const imports = new ComponentImportService(hsm);
  const archive = new ArchiveDoor(hsm, opts.dataDir);
  const drills = new DrillService({ log: (line) => opts.log?.(line) });
  const listeners = new Set<(event: CeremonyEvent) => void>();
  const events = {
    subscribe(listener: (event: CeremonyEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  const ceremonies = new CeremonyService({
    hsm,
    door: archive,
    dataDir: opts.dataDir,
    version: VERSION,
    newHost: () => new HsmClient(opts.spawnHost(hostEnvironment(demo))),
    csr: (t, selector, subject) => keys.csr(t, selector, subject),
    via: opts.shell === 'cli' ? 'cli' : 'app',
    emit: (event) => {
      for (const l of [...listeners]) l(event);
    },
  });
  const close = async () => {
    drills.close();
    ceremonies.close();
    await hsm.close();
  };
  return { dataDir: opts.dataDir, demo, config, hsm, tokens, keys, cardShares, imports, archive, drills, ceremonies, events, close };
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
    ...archiveHandlers({ door: s.archive, withConfigured: (module, work) => s.tokens.withConfigured(module, work) }),
    ...ceremonyHandlers({ ceremonies: s.ceremonies, withConfigured: (module, work) => s.tokens.withConfigured(module, work) }),
  };
}
