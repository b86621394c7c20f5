// Reading shares and share-set records for the `custos shares` commands: one share (stdin or a
// hidden prompt), several shares one per line, and a record file. Share words never come from an
// argument, and the buffers that held them are zeroed.
import { CustosError } from '../../shared/result';
import { parseShareSetRecordJson, type ShareSetRecord } from '../../shared/shares';
import { LIMITS, writeOutputFile } from './files';
import { parseMnemonicText, promptHidden, readInputFile, readStdin, stdinIsTerminal } from './input';

export function readRecordFile(path: string): ShareSetRecord {
  const buf = readInputFile(path, 'share-set record');
  return parseShareSetRecordJson(buf.toString('utf8'));
}

/** One mnemonic: all of stdin (lines joined; numbered sheet text allowed), or a hidden prompt. */
export async function readOneMnemonic(): Promise<string> {
  const buf = stdinIsTerminal() ? await promptHidden('Share words (not shown): ') : await readStdin(LIMITS.shares, 'share');
  const text = buf.toString('utf8');
  buf.fill(0);
  const mnemonic = parseMnemonicText(text);
  if (mnemonic === '') throw new CustosError({ code: 'SHARE_WORD_COUNT', message: 'No share was given.', action: 'Type the share words, or pipe them on stdin.' });
  return mnemonic;
}

/** Several mnemonics, one per line (blank lines ignored); on a terminal, one hidden prompt each. */
export async function readMnemonicLines(allowNone = false): Promise<string[]> {
  const lines: string[] = [];
  if (stdinIsTerminal()) {
    for (;;) {
      const buf = await promptHidden(`Share ${lines.length + 1} (not shown; empty line when done): `);
      const text = buf.toString('utf8');
      buf.fill(0);
      if (text.trim() === '') break;
      lines.push(parseMnemonicText(text, `Share ${lines.length + 1}`));
    }
  } else {
    const buf = await readStdin(LIMITS.shares, 'shares');
    const text = buf.toString('utf8');
    buf.fill(0);
    for (const line of text.split(/\r?\n/)) if (line.trim() !== '') lines.push(parseMnemonicText(line, `Share ${lines.length + 1}`));
  }
  if (lines.length === 0 && !allowNone) {
    throw new CustosError({ code: 'QUORUM_NOT_MET', message: 'No shares were given.', action: 'Enter the shares, one per line.' });
  }
  return lines;
}

/** Writes a file that holds a share (a sheet, a sealed share): never over an existing file ('wx'), readable by its owner only. */
export function writePrivate(path: string, data: Uint8Array | string, what = 'file'): void {
  writeOutputFile(path, data, what, { fresh: true, mode: 0o600 });
}
