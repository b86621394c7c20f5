import { ipcMain } from 'electron';
import { channelOf, METHOD_NAMES } from '../../shared/contract';
import { createDispatcher } from '../ipc/handle';
import { createHandlers } from '../services/index';
import { APP_PREFIX } from './protocol';
import type { MainModule } from './types';

export const ipc: MainModule = {
  name: 'ipc',
  init({ services, log }) {
    const dispatch = createDispatcher(createHandlers(services, 'electron'), {
      // Only the app's own pages (app://custos/…, modules/protocol.ts): never a file:// page, which
      // any local file could be, nor a page the window was somehow navigated to.
      isTrustedSender: (ctx) => ctx.senderUrl.startsWith(APP_PREFIX),
      log,
    });
    for (const method of METHOD_NAMES) {
      const channel = channelOf(method);
      ipcMain.handle(channel, (event, payload: unknown) => dispatch(channel, payload, { senderUrl: event.senderFrame?.url ?? '' }));
    }
    return {
      quit() {
        for (const method of METHOD_NAMES) ipcMain.removeHandler(channelOf(method));
      },
    };
  },
};
