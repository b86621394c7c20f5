import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

// Electron's half of the save seam (electron/modules/dialogs.ts), with Electron's dialog module
// replaced: which dialog is shown with which options, and what reaches main from the answer.
const h = vi.hoisted(() => ({
  calls: [] as Array<{ kind: 'save' | 'open'; options: Record<string, unknown>; parent: boolean }>,
  answer: { canceled: false, filePath: '', filePaths: [] as string[] },
  focused: true,
}));

vi.mock('electron', () => ({
  BrowserWindow: { getFocusedWindow: () => (h.focused ? { id: 1 } : null), getAllWindows: () => [] },
  dialog: {
    showSaveDialog: async (...args: unknown[]) => {
      h.calls.push({ kind: 'save', options: args.at(-1) as Record<string, unknown>, parent: args.length === 2 });
      return { canceled: h.answer.canceled, filePath: h.answer.filePath };
    },
    showOpenDialog: async (...args: unknown[]) => {
      h.calls.push({ kind: 'open', options: args.at(-1) as Record<string, unknown>, parent: args.length === 2 });
      return { canceled: h.answer.canceled, filePaths: h.answer.filePaths };
    },
  },
}));

const { electronPlaces } = await import('../../electron/modules/dialogs');
const dir = mkdtempSync(join(tmpdir(), 'custos-dialogs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  h.calls.length = 0;
  h.answer = { canceled: false, filePath: '', filePaths: [] };
  h.focused = true;
});

describe('Electron’s save and open dialogs', () => {
  it('a save dialog, modal to the window, with the suggested name; a name that exists counts as agreed to replace (GTK asked)', async () => {
    const p = electronPlaces();
    h.answer.filePath = join(dir, 'new.pem');
    expect(await p.saveFile({ title: 'Save the public key', name: 'key.pub.pem', filters: [{ name: 'PEM', extensions: ['pem'] }] })).toEqual({ path: join(dir, 'new.pem'), replaceConfirmed: false });
    expect(h.calls[0]).toMatchObject({ kind: 'save', parent: true, options: { defaultPath: 'key.pub.pem', properties: expect.arrayContaining(['showOverwriteConfirmation']) } });
    writeFileSync(join(dir, 'old.pem'), 'x');
    h.answer.filePath = join(dir, 'old.pem');
    expect((await p.saveFile({ title: 't', name: 'old.pem', filters: [] }))?.replaceConfirmed).toBe(true);
    h.answer.canceled = true;
    expect(await p.saveFile({ title: 't', name: 'x', filters: [] })).toBeNull();
  });

  it('a folder artefact asks for a folder (openDirectory); a record is opened with openFile; cancelling is null', async () => {
    const p = electronPlaces();
    h.answer.filePaths = [dir];
    expect(await p.saveFolder({ title: 'Choose the folder', name: 'b.evidence' })).toBe(dir);
    expect(h.calls[0]!.options.properties).toEqual(expect.arrayContaining(['openDirectory']));
    h.answer.filePaths = [join(dir, 'r.json')];
    expect(await p.openFile({ title: 'Open', filters: [{ name: 'Share-set record', extensions: ['json'] }], name: 'ignored.json' })).toBe(join(dir, 'r.json'));
    expect(h.calls[1]!.options.properties).toEqual(['openFile']);
    h.answer.canceled = true;
    expect(await p.openFile({ title: 'Open', filters: [] })).toBeNull();
    expect(p.describe()).toEqual({ mode: 'dialog' });
  });
});
