// Electron main process: composes the same services the preview shell and CLI use, then wires
// them to the window through the contract-derived IPC handlers.
import { app, BrowserWindow } from 'electron';
import { join, resolve } from 'node:path';
import { utilityHostSpawner } from './hsm/client/spawn-utility';
import { electronPlaces } from './modules/dialogs';
import { ipc } from './modules/ipc';
import { appProtocol, registerAppScheme } from './modules/protocol';
import { security } from './modules/security';
import type { MainModule, ModuleHooks } from './modules/types';
import { window } from './modules/window';
import { defaultDataDir } from './services/config';
import { createServices } from './services/index';
import { acquireInstanceLock, type InstanceLock } from './services/instance-lock';

const log = (line: string) => console.error(`[custos] ${line}`);

// The protocol module serves the page the window module loads: it goes first.
const modules: MainModule[] = [security, appProtocol, ipc, window];

function main(): void {
  // Before anything else: app:// can be declared only before the app is ready.
  registerAppScheme();

  // One instance per data folder. Chromium's single-instance lock lives in userData, so userData
  // must be the data folder Custos will use — CUSTOS_DATA_DIR when given — before the lock is asked
  // for; otherwise two windows on two data folders would refuse each other, and two on one folder
  // given by CUSTOS_DATA_DIR would not. (It also keeps Chromium's profile beside Custos's files,
  // where the default data folder always had it.)
  // defaultDataDir(): the folder the CLI and the preview shell use too (~/.config/Custos).
  const dataDir = resolve(defaultDataDir());
  app.setPath('userData', dataDir);
  if (!app.requestSingleInstanceLock()) {
    // app.quit() only asks: without the return, this instance would go on to set up its services.
    app.quit();
    return;
  }
  // The same folder may be open in a preview shell, which Chromium's lock does not see.
  let lock: InstanceLock;
  try {
    lock = acquireInstanceLock(dataDir, 'electron');
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    app.quit();
    return;
  }
  if (lock.tookOverFrom) log(`took over the lock of a Custos (${lock.tookOverFrom.shell}, process ${lock.tookOverFrom.pid}) that did not close`);
  process.on('exit', () => lock.release());
  app.on('second-instance', () => {
    const [win] = BrowserWindow.getAllWindows();
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  app.enableSandbox();

  app.whenReady().then(async () => {
    const services = createServices({
      dataDir,
      shell: 'electron',
      spawnHost: (env) => utilityHostSpawner(join(__dirname, 'hsm-host.cjs'), env),
      log,
      places: electronPlaces(),
    });
    // What an interrupted `archive init` left: finished or adopted now, its keys destroyed at the next login.
    void services.archive.recoverInits(null, null).catch((e: unknown) => log(`could not check for an interrupted archive init: ${e instanceof Error ? e.message : String(e)}`));
    const deps = { services, rendererDir: join(__dirname, 'renderer'), preloadPath: join(__dirname, 'preload.cjs'), log };
    const hooks: ModuleHooks[] = modules.map((m) => m.init(deps) ?? {});
    for (const h of hooks) await h.load?.();

    let quitting = false;
    app.on('before-quit', (event) => {
      if (quitting) return;
      event.preventDefault();
      quitting = true;
      // Logout, C_Finalize (inside services.close) and module hooks, then really quit.
      void Promise.allSettled([...hooks.map((h) => h.quit?.()), services.close()]).then(() => {
        lock.release();
        app.quit();
      });
    });
    app.on('window-all-closed', () => app.quit());
  });
}

main();
