// Saving artefacts across the air gap, and loading public records back (issue #10 part 8). The
// window names what it wants saved (shared/files.ts); this service makes the bytes itself — from
// the token, the archive or the evidence folder — asks the place (places.ts) where they go, writes
// them atomically (atomic.ts) and records the save in the audit log: what, where, and by whom.
// Public artefacts (public keys, CSRs, share-set records) are written 0644; everything else 0600, since an audit log
// or a ceremony's journal names people and keys and is for the auditor it is handed to.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Artefact, LoadableKind, OpenOutcome, SavedFile, SaveOutcome, SavePlace } from '../../../shared/files';
import type { TokenRef } from '../../../shared/keys';
import { CustosError, fail } from '../../../shared/result';
import { parseShareSetRecordJson, serializeShareSetRecord } from '../../../shared/shares/record';
import type { Activity } from '../activity/activity';
import type { ArchiveDoor } from '../archive/door';
import type { CeremonyService } from '../ceremony/service';
import type { KeyService } from '../key-service';
import { readRecord } from '../shares/records';
import { parseSealedShareJson } from '../shares/sealed';
import { checkFileName, writeError, writeFileAtomic, writeFolderAtomic, writeNew } from './atomic';
import type { FileFilter, SavePlaces } from './places';

/** A share-set record is a few KB; anything past this is not one (and is not read further). */
export const RECORD_FILE_MAX = 64 * 1024;
const PUBLIC = 0o644;
const PRIVATE = 0o600;

export interface FileServiceDeps {
  keys: KeyService;
  withConfigured<T>(module: string, work: () => Promise<T>): Promise<T>;
  archive(): ArchiveDoor;
  ceremonies(): CeremonyService;
  activity: Activity;
  places: SavePlaces;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PEM: FileFilter[] = [{ name: 'PEM', extensions: ['pem'] }];

/** A label as a file name: letters, digits and . _ - kept, the rest folded to '-'. */
export function safeName(label: string, fallback: string): string {
  const s = label.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+|-+$/g, '').slice(0, 80);
  return s || fallback;
}

interface FileArtefact {
  folder: false;
  name: string;
  title: string;
  filters: FileFilter[];
  mode: number;
  bytes: Uint8Array;
  token?: TokenRef;
  /** The bytes are a secret (a component sheet): zeroised once written or cancelled, and no hash of them is audited. */
  secret?: boolean;
}
interface FolderArtefact {
  folder: true;
  name: string;
  title: string;
  mode: number;
  fill(tmp: string): Promise<void> | void;
}

export class FileService {
  constructor(private readonly deps: FileServiceDeps) {}

  where(): SavePlace {
    return this.deps.places.describe();
  }

  /**
   * Saves one artefact. The bytes are made before the dialog opens (a token that is logged out
   * fails before anyone picks a folder); null from the place is "cancelled" and saves nothing.
   */
  async save(a: Artefact, opts: { replace?: boolean } = {}): Promise<SaveOutcome> {
    // Who saves: the person signed in to the key's token; for the rest, the one signed in here (if one is).
    const token = ('token' in a ? { module: a.module, token: a.token } : null) ?? this.deps.activity.signedInToken();
    // A person who may not act here is refused (and the refusal recorded) before the token signs
    // anything or a dialog opens.
    await this.deps.activity.actorText(token).catch((e: unknown) =>
      this.deps.activity.run({ action: 'file.save', token, details: { kind: a.kind } }, async () => {
        throw e;
      }),
    );
    const made = await this.make(a);
    let target: { path: string; replace: boolean } | null;
    if (made.folder) {
      const dir = await this.deps.places.saveFolder({ title: made.title, name: made.name });
      target = dir ? { path: join(dir, made.name), replace: false } : null;
    } else {
      const f = await this.deps.places.saveFile({ title: made.title, name: made.name, filters: made.filters });
      target = f ? { path: f.path, replace: f.replaceConfirmed || opts.replace === true } : null;
    }
    if (!target) {
      if (!made.folder && made.secret) made.bytes.fill(0);
      return { saved: false };
    }
    const { path, replace } = target;
    const details = { kind: a.kind, path, mode: made.mode.toString(8), ...(replace ? { replaced: true } : {}) };
    return this.deps.activity.run(
      { action: 'file.save', token: token ?? null, objectType: 'file', objectId: basename(path), details },
      async () => {
        if (made.folder) {
          const final = await writeFolderAtomic(dirname(path), basename(path), made.fill, { mode: made.mode });
          return { saved: true as const, kind: a.kind, path: final, folder: true, mode: made.mode.toString(8), files: listFolder(final) };
        }
        try {
          const final = writeFileAtomic(dirname(path), basename(path), made.bytes, { mode: made.mode, replace });
          return { saved: true as const, kind: a.kind, path: final, folder: false, mode: made.mode.toString(8), files: [{ name: basename(final), bytes: made.bytes.length, sha256: made.secret ? '' : sha256(made.bytes) }] };
        } finally {
          if (made.secret) made.bytes.fill(0);
        }
      },
      (r) => ({ details: { files: r.files.length, bytes: r.files.reduce((n, f) => n + f.bytes, 0), ...(r.folder || !r.files[0]!.sha256 ? {} : { sha256: r.files[0]!.sha256 }) } }),
    );
  }

  /**
   * Loads a file the person chooses: at most RECORD_FILE_MAX bytes, checked by its schema. A share-set
   * record, or a sealed share (its envelope: the share inside is opened only by its card, in main).
   */
  async open(kind: LoadableKind, name?: string): Promise<OpenOutcome> {
    const what = kind === 'sealed-share' ? 'sealed share' : 'share-set record';
    const path = await this.deps.places.openFile({ title: `Open a ${what}`, filters: [{ name: kind === 'sealed-share' ? 'Sealed share' : 'Share-set record', extensions: ['json'] }], ...(name ? { name } : {}) });
    if (!path) return { opened: false };
    const text = readBoundedText(path, RECORD_FILE_MAX, what);
    // The format's own checks (format, version, fields; for a record its set, groups, fingerprints) with their typed errors.
    if (kind === 'sealed-share') parseSealedShareJson(text);
    else readRecord(text);
    await this.deps.activity.note({ action: 'file.open', objectType: 'file', objectId: basename(path), details: { kind, path, bytes: Buffer.byteLength(text), sha256: sha256(Buffer.from(text, 'utf8')) } });
    return { opened: true, name: basename(path), text };
  }

  private async make(a: Artefact): Promise<FileArtefact | FolderArtefact> {
    switch (a.kind) {
      case 'public-key': {
        const t = { module: a.module, token: a.token };
        const { text, label } = await this.deps.withConfigured(a.module, async () => ({ text: await this.deps.keys.exportPublic(t, a.key, a.format), label: (await this.deps.keys.show(t, a.key)).label }));
        const ext = a.format === 'pem' ? 'pub.pem' : 'pub.jwk';
        return { folder: false, name: `${safeName(label, 'public-key')}.${ext}`, title: 'Save the public key', filters: a.format === 'pem' ? PEM : [{ name: 'JWK', extensions: ['jwk', 'json'] }], mode: PUBLIC, bytes: Buffer.from(text.endsWith('\n') ? text : text + '\n', 'utf8'), token: t };
      }
      case 'csr': {
        const t = { module: a.module, token: a.token };
        const { pem, label } = await this.deps.withConfigured(a.module, async () => ({ pem: await this.deps.keys.csr(t, a.key, a.subject), label: (await this.deps.keys.show(t, a.key)).label }));
        return { folder: false, name: `${safeName(label, 'key')}.csr.pem`, title: 'Save the certificate signing request', filters: PEM, mode: PUBLIC, bytes: Buffer.from(pem.endsWith('\n') ? pem : pem + '\n', 'utf8'), token: t };
      }
      case 'audit-export': {
        const door = this.deps.archive();
        const path = door.existing();
        const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
        return { folder: true, name: `audit-${stamp}`, title: 'Choose the folder to save the audit export in', mode: PRIVATE, fill: async (tmp) => void (await door.read(path, (x) => x.exportAudit(tmp))) };
      }
      case 'component-sheet': {
        const t = { module: a.module, token: a.token };
        // The ceremony decides: only the sheet of the holder whose turn it is, while the components are in memory.
        const { sheet } = await this.deps.withConfigured(a.module, () => this.deps.ceremonies().act(t, a.run, { kind: 'component-sheet', holder: a.holder }, null));
        return { folder: false, name: sheet!.fileName, title: `Save ${sheet!.name}’s component sheet (for ${sheet!.name} only)`, filters: [{ name: 'PDF', extensions: ['pdf'] }], mode: PRIVATE, bytes: sheet!.pdf, token: t, secret: true };
      }
      case 'sealed-envelope': {
        const t = { module: a.module, token: a.token };
        // Only the envelope sealed at this holder's turn, still waiting in main's memory to be saved.
        const { sealed } = await this.deps.withConfigured(a.module, () => this.deps.ceremonies().act(t, a.run, { kind: 'sealed-envelope', holder: a.holder }, null));
        return { folder: false, name: sealed!.fileName, title: `Save ${sealed!.name}’s sealed share (for ${sealed!.name}’s own media)`, filters: [{ name: 'Sealed share', extensions: ['json'] }], mode: PRIVATE, bytes: Buffer.from(sealed!.envelope, 'utf8'), token: t };
      }
      case 'share-set-record': {
        const v = await this.deps.ceremonies().view(a.run);
        const split = v.steps.find((x) => x.kind === 'split')?.outcome as { shareSetRecord?: unknown } | null | undefined;
        if (!split?.shareSetRecord) fail('CEREMONY_STEP_BLOCKED', 'This ceremony has made no share-set record (yet).', 'Save the record once the shares are made; XOR components have no share-set record.');
        // Parsed and written out again by the record's own code: what is saved is a record that reads back.
        const record = parseShareSetRecordJson(JSON.stringify(split.shareSetRecord));
        const text = serializeShareSetRecord(record);
        return { folder: false, name: `set${record.set.identifier}-record.json`, title: 'Save the share-set record', filters: [{ name: 'Share-set record', extensions: ['json'] }], mode: PUBLIC, bytes: Buffer.from(text.endsWith('\n') ? text : text + '\n', 'utf8') };
      }
      case 'wrapped-export': {
        const x = await this.deps.ceremonies().wrappedExport(a.run);
        return { folder: false, name: x.name, title: 'Save the wrapped key for the receiving system', filters: [{ name: 'Wrapped key', extensions: ['bin'] }], mode: PRIVATE, bytes: x.bytes };
      }
      case 'bundle':
      case 'bundle-pdf': {
        const c = this.deps.ceremonies();
        const v = await c.view(a.run);
        if (!v.bundle) fail('CEREMONY_STEP_BLOCKED', 'This ceremony has no evidence bundle yet.', 'Finish the ceremony (its sign-off writes the bundle), then save it.');
        const src = c.bundlePath(v.bundle.name);
        // What leaves the workstation is what verifies: a bundle changed on disk is not copied out.
        const verdict = await c.verifyBundle(src);
        if (!verdict.ok) fail('BUNDLE_INVALID', `The evidence bundle ${v.bundle.name} does not verify, so it was not saved.`, 'Check it on the ceremony screen (“Check the bundle”) and report what fails.', { bundle: v.bundle.name });
        const files = readBundleFiles(src);
        if (a.kind === 'bundle-pdf') {
          const pdf = files.get('record.pdf');
          if (!pdf) fail('BUNDLE_INVALID', 'The evidence bundle has no record.pdf.', 'Save the whole bundle instead.');
          return { folder: false, name: `${v.bundle.name.replace(/\.evidence$/, '')}-record.pdf`, title: 'Save the ceremony record (PDF)', filters: [{ name: 'PDF', extensions: ['pdf'] }], mode: PRIVATE, bytes: pdf };
        }
        return { folder: true, name: v.bundle.name, title: 'Choose the folder to save the evidence bundle in', mode: PRIVATE, fill: (tmp) => files.forEach((b, n) => writeNew(join(tmp, n), b, PRIVATE)) };
      }
    }
  }
}

/** The regular files of a bundle folder (a bundle holds nothing else; anything else is refused). */
function readBundleFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const n of readdirSync(dir).sort()) {
    checkFileName(n);
    const p = join(dir, n);
    if (!lstatSync(p).isFile()) fail('BUNDLE_INVALID', `The evidence bundle holds ${n}, which is not a plain file.`, 'Check the bundle folder; it should hold files only.');
    out.set(n, readFileSync(p));
  }
  return out;
}

function listFolder(dir: string): SavedFile[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const b = readFileSync(join(dir, name));
      return { name, bytes: b.length, sha256: sha256(b) };
    });
}

/** A text file read in chunks and refused once past `max` (a device or a huge file ends in an error, not a hang). */
export function readBoundedText(path: string, max: number, what: string): string {
  let fd: number;
  try {
    // O_NOFOLLOW: a link planted on the media cannot make main read a file elsewhere on the workstation.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('FILE_NOT_FOUND', `${path} is not there.`, 'Choose the file again (is the media still in?).', { path });
    if (code === 'ELOOP') fail('FILE_NOT_FOUND', `${basename(path)} is a link, not a file; Custos does not follow links on removable media.`, `Copy the ${what} file itself onto the media and load it again.`, { path });
    return writeError(e, path);
  }
  try {
    if (!fstatSync(fd).isFile()) fail('FILE_NOT_FOUND', `${path} is not a file.`, `Choose the ${what} file itself.`, { path });
    const buf = Buffer.alloc(max + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > max) fail('FILE_TOO_LARGE', `${basename(path)} is larger than ${max / 1024} KB, more than any ${what} can be.`, `Check that you chose the ${what} file.`, { path, limit: max });
    }
    const text = buf.subarray(0, total).toString('utf8');
    if (text.includes('\uFFFD')) fail('RECORD_INVALID', `${basename(path)} is not UTF-8 text.`, `Choose the ${what} file (JSON).`, { path });
    return text;
  } catch (e) {
    if (e instanceof CustosError) throw e;
    return writeError(e, path);
  } finally {
    closeSync(fd);
  }
}
