// Electron's half of the save seam (services/files/places.ts): the native dialogs, modal to the
// app's window. Only the path the person picked comes back; main makes and writes the bytes. GTK's
// save dialog asks before replacing an existing file (showOverwriteConfirmation), so a path that
// exists when it returns is one the person agreed to replace.
import { BrowserWindow, dialog, type OpenDialogOptions, type SaveDialogOptions } from 'electron';
import { existsSync } from 'node:fs';
import type { SavePlaces } from '../services/files/places';

const owner = () => BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];

export function electronPlaces(): SavePlaces {
  return {
    async saveFile({ title, name, filters }) {
      const options: SaveDialogOptions = { title, defaultPath: name, filters, properties: ['createDirectory', 'showOverwriteConfirmation'] };
      const w = owner();
      const r = w ? await dialog.showSaveDialog(w, options) : await dialog.showSaveDialog(options);
      if (r.canceled || !r.filePath) return null;
      return { path: r.filePath, replaceConfirmed: existsSync(r.filePath) };
    },
    async saveFolder({ title }) {
      const options: OpenDialogOptions = { title, buttonLabel: 'Save here', properties: ['openDirectory', 'createDirectory'] };
      const w = owner();
      const r = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async openFile({ title, filters }) {
      const options: OpenDialogOptions = { title, filters, properties: ['openFile'] };
      const w = owner();
      const r = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    describe: () => ({ mode: 'dialog' }),
  };
}
