import { z } from 'zod';
import type { GeneratedKey, KeyDetail, KeyEntry, TokenCapabilities } from './keys';
import type { AppError } from './result';

// The one contract between the renderer and the main process. Every operation is a named method
// with an input schema (checked in main: the renderer is untrusted) and an output type. The
// preload API, the main-process handlers and the preview shell's binding are all derived from
// this table, so there is no generic invoke(channel, anything) anywhere.

const pin = z
  .string()
  .min(1, 'Enter the PIN.')
  .max(255, 'A PIN is at most 255 characters.')
  .refine((s) => !s.includes('\0'), 'A PIN cannot contain a NUL character.');

const modulePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => s.startsWith('/'), 'Give the absolute path of the PKCS#11 module (.so file).')
  .refine((s) => !s.includes('\0'), 'The path contains a NUL character.');

const tokenUriInput = z.string().min(7).max(1024).startsWith('pkcs11:');

const none = z.strictObject({});

const tokenRef = { module: modulePath, token: tokenUriInput };
const keySelector = z.string().min(1).max(2048);
const keyLabel = z
  .string()
  .trim()
  .min(1, 'Give the key a label.')
  .max(128, 'A label is at most 128 characters.')
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .refine((s) => !/[\u0000-\u001f]/.test(s), 'A label cannot contain control characters.');

export const tokenFlagsSchema = z.object({
  loginRequired: z.boolean(),
  initialized: z.boolean(),
  userPinInitialized: z.boolean(),
  protectedAuthenticationPath: z.boolean(),
  writeProtected: z.boolean(),
  rng: z.boolean(),
  userPinCountLow: z.boolean(),
  userPinFinalTry: z.boolean(),
  userPinLocked: z.boolean(),
  userPinToBeChanged: z.boolean(),
  soPinCountLow: z.boolean(),
  soPinFinalTry: z.boolean(),
  soPinLocked: z.boolean(),
});
export type TokenFlags = z.infer<typeof tokenFlagsSchema>;

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  uri: string;
  flags: TokenFlags;
  minPinLength: number;
  maxPinLength: number;
  /** Who this app is logged in as on the token, if anyone. */
  loggedIn: 'user' | 'so' | null;
  demo: boolean;
}

export interface SlotEntry {
  module: string;
  slotId: string;
  slotDescription: string;
  slotManufacturer: string;
  removable: boolean;
  hardware: boolean;
  token: TokenInfo | null;
}

export interface ModuleEntry {
  path: string;
  name: string;
  source: 'configured' | 'demo' | 'p11-kit';
  /** Configured modules are loaded; discovered ones are only offered. */
  enabled: boolean;
  status: 'loaded' | 'error' | 'not-loaded';
  error?: AppError;
  library?: { manufacturer: string; description: string; version: string; cryptokiVersion: string };
}

export interface TokenListing {
  modules: ModuleEntry[];
  slots: SlotEntry[];
}

export interface AppInfo {
  version: string;
  shell: 'electron' | 'preview';
  dataDir: string;
  demo: { available: boolean; exists: boolean; reason?: string; label: string };
}

export const DEMO_TOKEN_LABEL = 'Custos demo';

// Curried so that the output type is given and the input type is inferred from the schema.
const method =
  <O>() =>
  <I extends z.ZodType>(input: I, description: string) => ({ input, description, output: undefined as unknown as O });

export const contract = {
  'app.info': method<AppInfo>()(none, 'Version, shell and data folder.'),
  'tokens.list': method<TokenListing>()(none, 'Modules, slots and tokens, with flags.'),
  'modules.add': method<ModuleEntry>()(
    z.strictObject({ path: modulePath }),
    'Configure a PKCS#11 module by path; it is loaded and checked before it is saved.',
  ),
  'modules.remove': method<{ removed: boolean }>()(z.strictObject({ path: modulePath }), 'Forget a configured module.'),
  'tokens.createDemo': method<SlotEntry>()(
    z.strictObject({ soPin: pin, userPin: pin }),
    'Create the SoftHSM2 demo token in the data folder.',
  ),
  'session.login': method<SlotEntry>()(
    z.strictObject({ module: modulePath, token: tokenUriInput, pin, role: z.enum(['user', 'so']) }),
    'Log in to a token with a PIN.',
  ),
  'session.logout': method<SlotEntry>()(
    z.strictObject({ module: modulePath, token: tokenUriInput }),
    'Log out of a token.',
  ),
  'keys.capabilities': method<TokenCapabilities>()(
    z.strictObject(tokenRef),
    'Mechanisms the token offers, and which key types, signatures and wraps Custos can use on it.',
  ),
  'keys.list': method<KeyEntry[]>()(z.strictObject(tokenRef), 'Keys on a token (pairs grouped).'),
  'keys.show': method<KeyDetail>()(z.strictObject({ ...tokenRef, key: keySelector }), 'One key with its check value or fingerprint.'),
  'keys.generate': method<GeneratedKey>()(
    z.strictObject({
      ...tokenRef,
      type: z.enum(['aes-128', 'aes-192', 'aes-256', 'hmac-256', 'tdes', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384', 'ed25519']),
      label: keyLabel,
      usages: z.array(z.enum(['encrypt', 'sign', 'wrap', 'derive'])).min(1, 'Choose at least one use.').max(4),
      extractable: z.boolean(),
    }),
    'Generate a key inside the token.',
  ),
  'keys.exportPublic': method<{ text: string }>()(
    z.strictObject({ ...tokenRef, key: keySelector, format: z.enum(['pem', 'jwk']) }),
    'The public key as PEM (SPKI) or JWK.',
  ),
  'keys.csr': method<{ pem: string }>()(
    z.strictObject({ ...tokenRef, key: keySelector, subject: z.string().min(3).max(1024) }),
    'A PKCS#10 certificate signing request signed by the key in the token.',
  ),
  'keys.destroy': method<{ destroyed: number }>()(
    z.strictObject({ ...tokenRef, key: keySelector, confirmLabel: z.string().max(128) }),
    'Destroy a key (both halves of a pair); the label must be typed again to confirm.',
  ),
} as const;

export type Contract = typeof contract;
export type MethodName = keyof Contract;
export type MethodInput<M extends MethodName> = z.infer<Contract[M]['input']>;
export type MethodOutput<M extends MethodName> = Contract[M]['output'];

export const METHOD_NAMES = Object.keys(contract) as MethodName[];

/** The API the renderer sees: one promise-returning function per contract method. */
export type CustosApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<import('./result').Result<MethodOutput<M>>>;
};

/** IPC channel name for a method; the preload and main both derive it from here. */
export const channelOf = (m: MethodName): string => `custos:${m}`;
