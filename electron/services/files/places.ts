// The seam between "what to save" (main, the same code in every shell) and "where": Electron asks
// the person with its native dialogs (modules/dialogs.ts); the preview shell, which has no native
// dialog of its own, uses the one folder the person named when starting it (--save-dir or
// CUSTOS_SAVE_DIR). Each place answers an absolute path the person chose, or null for "cancelled".
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { SavePlace } from '../../../shared/files';
import { fail } from '../../../shared/result';

export interface FileFilter {
  name: string;
  extensions: string[];
}

export interface SavePlaces {
  /** A file to write: the path, and whether the person already agreed to replace it (the dialog asked). */
  saveFile(x: { title: string; name: string; filters: FileFilter[] }): Promise<{ path: string; replaceConfirmed: boolean } | null>;
  /** The folder a folder artefact goes into (it is created inside, under `name`). */
  saveFolder(x: { title: string; name: string }): Promise<string | null>;
  /** A file to read; `name` is what the preview shell's in-page picker chose (Electron's dialog ignores it). */
  openFile(x: { title: string; filters: FileFilter[]; name?: string }): Promise<string | null>;
  describe(): SavePlace;
}

const unset = (): never =>
  fail('SAVE_FOLDER_UNSET', 'No folder for saving was chosen when the preview shell started.', 'Quit, then start it again with --save-dir /media/your-stick (or set CUSTOS_SAVE_DIR), and save again.');

/**
 * The preview shell's place: one folder, checked when it starts and again at every save (the
 * stick may have been pulled). Names are plain file names in it, never paths.
 */
export function folderPlaces(folder: string | null): SavePlaces {
  const root = (): string => {
    if (!folder) return unset();
    try {
      const real = realpathSync(folder);
      if (!statSync(real).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
      return real;
    } catch {
      return fail('FOLDER_NOT_FOUND', `The save folder ${folder} is not there (was the media removed?).`, 'Insert the media again (mounted at the same place), then save again.', { path: folder });
    }
  };
  return {
    saveFile: async ({ name }) => ({ path: join(root(), name), replaceConfirmed: false }),
    saveFolder: async () => root(),
    openFile: async ({ name }) => (name ? join(root(), name) : null),
    describe: () => {
      if (!folder) return { mode: 'folder', folder: null, names: [] };
      let names: string[] = [];
      try {
        names = readdirSync(root(), { withFileTypes: true })
          .filter((d) => d.isFile() && !d.name.startsWith('.'))
          .map((d) => d.name)
          .sort()
          .slice(0, 500);
      } catch {
        /* pulled media: the save itself reports it */
      }
      return { mode: 'folder', folder, names };
    },
  };
}

/** Checks a --save-dir / CUSTOS_SAVE_DIR at start-up: absolute, an existing folder. */
export function checkSaveDir(dir: string | undefined): string | null {
  if (!dir) return null;
  if (!isAbsolute(dir)) fail('INVALID_INPUT', `The save folder ${dir} is not an absolute path.`, 'Give the full path, for example --save-dir /media/custos-stick.', { path: dir });
  let st;
  try {
    st = statSync(dir);
  } catch {
    return fail('FOLDER_NOT_FOUND', `The save folder ${dir} does not exist.`, 'Mount the media (or create the folder) first, then start the preview shell again.', { path: dir });
  }
  if (!st.isDirectory()) fail('FOLDER_NOT_FOUND', `${dir} is a file, not a folder.`, 'Name the folder to save into.', { path: dir });
  return dir;
}
