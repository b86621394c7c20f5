// The services every front end starts with: the data folder, the configuration, the HSM client, the
// tokens and the keys on them. Cheap to build and light to load (no archive, no share sheets, no
// schema library), so the CLI builds only these for its token and key commands; services/index.ts
// adds the rest for the app and for the commands that need it.
import { mkdirSync } from 'node:fs';
import { HsmClient, type SpawnHost } from '../hsm/client';
import { Activity } from './activity/activity';
import { AuditedKeyService, AuditedTokenService } from './activity/audited';
import { ConfigStore } from './config';
import type { KeyService } from './key-service';
import type { SavePlaces } from './files/places';
import { demoEnvironment, hostEnvironment, prepareDemoFiles, type DemoEnvironment } from './demo';

export interface ServicesOptions {
  dataDir: string;
  shell: 'electron' | 'preview' | 'cli';
  /** Given the host's environment, returns a spawner (utilityProcess or child process). */
  spawnHost(env: NodeJS.ProcessEnv): SpawnHost;
  log?(line: string): void;
  /** What the person at the screen should be told that is not an error (an interrupted archive init cleared up); defaults to log. */
  notice?(line: string): void;
  /** Where the window's saves go (files/places.ts): Electron's dialogs, or the preview shell's folder. */
  places?: SavePlaces;
}

export interface CoreServices {
  dataDir: string;
  demo: DemoEnvironment;
  config: ConfigStore;
  hsm: HsmClient;
  /** Token sessions, PINs and modules; logins, PIN changes and module changes are audited. */
  tokens: AuditedTokenService;
  /** Keys on a token; generation, destruction, relabelling, copies, imports, wraps and CSRs are audited. */
  keys: KeyService;
  /** Who acts here, and the record of what they did (activity/activity.ts). */
  activity: Activity;
  /** Logs out, finalizes every module and stops the HSM host. */
  close(): Promise<void>;
}

export function createCore(opts: ServicesOptions): CoreServices {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const demo = demoEnvironment(opts.dataDir);
  const config = new ConfigStore(opts.dataDir);
  prepareDemoFiles(demo);
  const hsm = new HsmClient(opts.spawnHost(hostEnvironment(demo)), {
    onRestart: (why) => opts.log?.(`HSM host stopped (${why}); it restarts on the next request`),
    // A CLI command sends one item per call and then exits: mapping the shared arena (the batch
    // addon loaded here, two more requests) would cost it more than the arena saves. Its bytes
    // travel in the messages instead; the results are the same.
    sharedArena: opts.shell !== 'cli',
  });
  // Start the HSM host now, in parallel with the window, so the first token list does not wait for
  // it. The CLI starts it itself, before its command loads, when the command needs it (cli/host.ts).
  if (opts.shell !== 'cli') void hsm.call('ping', {}).catch(() => undefined);
  let tokens: AuditedTokenService | null = null;
  const activity = new Activity({
    hsm,
    dataDir: opts.dataDir,
    via: opts.shell === 'cli' ? 'cli' : 'app',
    modules: () => tokens?.enabledModules().map((m) => m.path) ?? [],
    ...(opts.log ? { log: opts.log } : {}),
  });
  tokens = new AuditedTokenService(hsm, config, demo, activity);
  return {
    dataDir: opts.dataDir,
    demo,
    config,
    hsm,
    tokens,
    keys: new AuditedKeyService(hsm, activity),
    activity,
    close: () => hsm.close(),
  };
}
