import { ipcMain } from 'electron';
import { pathToFileURL } from 'node:url';
import { channelOf, METHOD_NAMES } from '../../shared/contract';
import { createDispatcher } from '../ipc/handle';
import { createHandlers } from '../services/index';
import type { MainModule } from './types';

export const ipc: MainModule = {
  name: 'ipc',
  init({ services, rendererDir, log }) {
    const appUrl = pathToFileURL(rendererDir).href + '/';
    const dispatch = createDispatcher(createHandlers(services, 'electron'), {
      isTrustedSender: (ctx) => ctx.senderUrl.startsWith(appUrl),
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
