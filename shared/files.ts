import { z } from 'zod';

// What the window may ask main to save to a file or folder the person chooses (removable media,
// across the air gap), and to load from one. The window names an artefact; main makes its bytes
// itself and writes them: a window that a script got into can still only save what this list
// names, where the person pointed the dialog. Nothing secret is an artefact kind — no share, PIN or
// plaintext key — so no request can carry one out, except a component sheet at its holder's turn (below) (NIST SP 800-57 Part 2 §6.7:
// secret keying material leaves a cryptographic boundary only wrapped).

const modulePath = z.string().min(1).max(4096).refine((s) => s.startsWith('/') && !s.includes('\0'), 'Give the absolute path of the PKCS#11 module.');
const tokenUri = z.string().min(7).max(1024).startsWith('pkcs11:');
const keySelector = z.string().min(1).max(2048);
const runId = z.string().regex(/^[0-9a-f-]{36}$/, 'This is not a ceremony id.');

export const artefactSchema = z.discriminatedUnion('kind', [
  /** A public key from a token: SPKI PEM or JWK. Public: saved 0644. */
  z.strictObject({ kind: z.literal('public-key'), module: modulePath, token: tokenUri, key: keySelector, format: z.enum(['pem', 'jwk']) }),
  /** A PKCS#10 request signed in the token for `subject` (a fresh signature each time). Public. */
  z.strictObject({ kind: z.literal('csr'), module: modulePath, token: tokenUri, key: keySelector, subject: z.string().min(3).max(1024) }),
  /** The audit log for offline verification (a folder: entries, checkpoints, audit key, manifest). */
  z.strictObject({ kind: z.literal('audit-export') }),
  /** A finished ceremony's evidence bundle, as the folder it is (checked before it is copied). */
  z.strictObject({ kind: z.literal('bundle'), run: runId }),
  /** The printable record (PDF) from a finished ceremony's evidence bundle. */
  z.strictObject({ kind: z.literal('bundle-pdf'), run: runId }),
  /**
   * The one secret artefact: a component-creation ceremony's sheet for the holder whose turn it is
   * (a PDF holding their component, saved 0600 for them to print). Main makes it only at that turn,
   * from the component in its own memory; the window names the run and the holder, never the bytes.
   */
  z.strictObject({ kind: z.literal('component-sheet'), module: modulePath, token: tokenUri, run: runId, holder: z.string().trim().min(1).max(128) }),
  /** A sealed backup's envelope for the holder whose turn it is (custos.sealedshare v1: no secret in it), sealed in main just before. Saved 0600. */
  z.strictObject({ kind: z.literal('sealed-envelope'), module: modulePath, token: tokenUri, run: runId, holder: z.string().trim().min(1).max(128) }),
  /** The share-set record a backup ceremony made (custos.shareset v1: holders and fingerprints, no share). Public. */
  z.strictObject({ kind: z.literal('share-set-record'), run: runId }),
  /** What a retrieval exported: the key wrapped for the receiving system (AES-KWP or RSA-OAEP + AES-KWP), never plaintext. Saved 0600. */
  z.strictObject({ kind: z.literal('wrapped-export'), run: runId }),
]);
export type Artefact = z.infer<typeof artefactSchema>;
export type ArtefactKind = Artefact['kind'];
export const ARTEFACT_KINDS = artefactSchema.options.map((o) => o.shape.kind.value) as ArtefactKind[];

/**
 * What may be loaded from a file, each read bounded and checked by its schema: public records, and a
 * share sealed to a card (custos.sealedshare: only that card opens it, and it opens only in main).
 */
export const LOADABLE_KINDS = ['share-set-record', 'sealed-share'] as const;
export type LoadableKind = (typeof LOADABLE_KINDS)[number];

/** A plain file name inside the preview shell's save folder. */
export const fileNameSchema = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  .refine((s) => !/[/\\\u0000-\u001f]/.test(s) && !s.startsWith('.'), 'Name a file in the save folder (no slashes, no leading dot).');

export interface SavedFile {
  name: string;
  bytes: number;
  sha256: string;
}

export type SaveOutcome =
  | { saved: false }
  | {
      saved: true;
      kind: ArtefactKind;
      /** The file, or for a folder artefact the folder, as written. */
      path: string;
      folder: boolean;
      /** 0o644 for public artefacts, 0o600 for the rest (as octal text). */
      mode: string;
      files: SavedFile[];
    };

export type OpenOutcome = { opened: false } | { opened: true; name: string; text: string };

/** Where saves go: a dialog (Electron), or the folder the preview shell was started with. */
export type SavePlace = { mode: 'dialog' } | { mode: 'folder'; folder: string | null; names: string[] };
