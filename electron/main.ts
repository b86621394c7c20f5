// Electron main process: composes the same services the preview shell and CLI use, then wires
// them to the window through the contract-derived IPC handlers.
import { app } from 'electron';
import { join } from 'node:path';
import { utilityHostSpawner } from './hsm/client/spawn-utility';
import { ipc } from './modules/ipc';
import { appProtocol, registerAppScheme } from './modules/protocol';
import { security } from './modules/security';
import type { MainModule, ModuleHooks } from './modules/types';
import { window } from './modules/window';
import { createServices } from './services/index';

const log = (line: string) => console.error(`[custos] ${line}`);

// app:// can be declared only before the app is ready.
registerAppScheme();
if (!app.requestSingleInstanceLock()) app.quit();
app.enableSandbox();

// The protocol module serves the page the window module loads: it goes first.
const modules: MainModule[] = [security, appProtocol, ipc, window];

app.whenReady().then(async () => {
  const services = createServices({
    dataDir: process.env.CUSTOS_DATA_DIR ?? app.getPath('userData'),
    shell: 'electron',
    spawnHost: (env) => utilityHostSpawner(join(__dirname, 'hsm-host.cjs'), env),
    log,
  });
  const deps = { services, rendererDir: join(__dirname, 'renderer'), preloadPath: join(__dirname, 'preload.cjs'), log };
  const hooks: ModuleHooks[] = modules.map((m) => m.init(deps) ?? {});
  for (const h of hooks) await h.load?.();

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    // Logout, C_Finalize (inside services.close) and module hooks, then really quit.
    void Promise.allSettled([...hooks.map((h) => h.quit?.()), services.close()]).then(() => app.quit());
  });
  app.on('window-all-closed', () => app.quit());
});
