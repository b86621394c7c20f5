import type { Services } from '../services/index';

/** Every main-process module has this shape: a name and init(deps) returning lifecycle hooks. */
export interface MainModule {
  name: string;
  init(deps: ModuleDeps): ModuleHooks | void;
}

export interface ModuleHooks {
  load?(): Promise<void> | void;
  quit?(): Promise<void> | void;
}

export interface ModuleDeps {
  services: Services;
  rendererDir: string;
  preloadPath: string;
  log(line: string): void;
}
