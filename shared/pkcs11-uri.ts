// PKCS#11 URIs, RFC 7512. Tokens are referred to by their identity (label, serial, model,
// manufacturer), never by slot id: slot ids change between runs and between machines.

export interface TokenIdentity {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
}

const PATH_ATTRS = ['token', 'manufacturer', 'model', 'serial', 'object', 'type', 'id', 'library-manufacturer', 'library-description', 'library-version', 'slot-description', 'slot-manufacturer', 'slot-id'] as const;

// RFC 7512 §2.3: pchar-style unreserved characters may appear literally; everything else is
// percent-encoded as UTF-8 octets.
const LITERAL = /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/;

export function pctEncode(value: string): string {
  let out = '';
  for (const ch of value) {
    if (LITERAL.test(ch)) {
      out += ch;
    } else {
      for (const byte of new TextEncoder().encode(ch)) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

export function tokenUri(token: TokenIdentity): string {
  const parts = [
    ['model', token.model],
    ['manufacturer', token.manufacturer],
    ['serial', token.serial],
    ['token', token.label],
  ] as const;
  return 'pkcs11:' + parts.map(([k, v]) => `${k}=${pctEncode(v)}`).join(';');
}

/**
 * The RFC 7512 URI of an object on a token: the token's URI with object= (the label), id= (CKA_ID,
 * each byte percent-encoded) and type=. RFC 7512 §2.3 names the classes "public", "private",
 * "secret-key", "cert" and "data"; a secret key is "secret-key", never "secret" (issue #11: the
 * archive wrote type=secret, which parseKeyRef rightly refused).
 */
export function objectUri(tokenUri: string, o: { label?: string; idHex?: string; kind: string }): string {
  const type = o.kind === 'secret' ? 'secret-key' : o.kind === 'private' || o.kind === 'public' ? o.kind : 'data';
  const parts = [tokenUri];
  if (o.label !== undefined) parts.push(`object=${pctEncode(o.label)}`);
  if (o.idHex !== undefined) parts.push(`id=${o.idHex.match(/../g)?.map((b) => '%' + b.toUpperCase()).join('') ?? ''}`);
  parts.push(`type=${type}`);
  return parts.join(';');
}

export interface ParsedUri {
  /** Attribute values decoded as UTF-8, except `id`, which is given as lowercase hex. */
  path: Record<string, string>;
  query: Record<string, string>;
}

export class UriError extends Error {}

function pctDecodeBytes(value: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new UriError(`bad percent-encoding near "${value.slice(i, i + 3)}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...new TextEncoder().encode(c));
    }
  }
  return new Uint8Array(bytes);
}

function pctDecode(value: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(pctDecodeBytes(value));
  } catch (e) {
    if (e instanceof UriError) throw e;
    throw new UriError('a value is not valid UTF-8 after percent-decoding');
  }
}

export function parsePkcs11Uri(uri: string): ParsedUri {
  if (!uri.toLowerCase().startsWith('pkcs11:')) throw new UriError('a PKCS#11 URI starts with "pkcs11:"');
  const rest = uri.slice('pkcs11:'.length);
  const [pathPart = '', queryPart] = rest.split('?', 2);
  const path: Record<string, string> = {};
  const query: Record<string, string> = {};
  for (const attr of pathPart.split(';').filter(Boolean)) {
    const eq = attr.indexOf('=');
    if (eq <= 0) throw new UriError(`"${attr}" is not name=value`);
    const name = attr.slice(0, eq).toLowerCase();
    if (!(PATH_ATTRS as readonly string[]).includes(name) && !name.startsWith('x-')) {
      throw new UriError(`unknown path attribute "${name}"`);
    }
    if (name in path) throw new UriError(`attribute "${name}" appears twice`);
    // CKA_ID is binary (RFC 7512 §2.3): keep it as lowercase hex rather than pretend it is text.
    path[name] =
      name === 'id'
        ? Array.from(pctDecodeBytes(attr.slice(eq + 1)), (b) => b.toString(16).padStart(2, '0')).join('')
        : pctDecode(attr.slice(eq + 1));
  }
  for (const attr of (queryPart ?? '').split('&').filter(Boolean)) {
    const eq = attr.indexOf('=');
    if (eq <= 0) throw new UriError(`"${attr}" is not name=value`);
    query[attr.slice(0, eq).toLowerCase()] = pctDecode(attr.slice(eq + 1));
  }
  return { path, query };
}

/** True when every token attribute the URI names matches the token (RFC 7512 §3.3 matching). */
export function uriMatchesToken(uri: ParsedUri, token: TokenIdentity): boolean {
  const want: Array<[string, string]> = [
    ['token', token.label],
    ['manufacturer', token.manufacturer],
    ['model', token.model],
    ['serial', token.serial],
  ];
  return want.every(([k, v]) => uri.path[k] === undefined || uri.path[k] === v);
}

/**
 * A token selector as a user types it on the command line: a PKCS#11 URI or a plain label.
 */
export function matchesSelector(selector: string, token: TokenIdentity): boolean {
  if (selector.toLowerCase().startsWith('pkcs11:')) return uriMatchesToken(parsePkcs11Uri(selector), token);
  return selector === token.label;
}
