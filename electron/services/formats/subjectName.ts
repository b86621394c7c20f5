// The subject of a certification request: an RFC 4514 distinguished-name string parsed, checked
// against the RFC 5280 rules for each attribute, and encoded as an X.501 Name. Standards: RFC 4514
// (string form); RFC 5280 §4.1.2.4, §4.1.2.6 and Appendix A (attribute types, encodings, upper
// bounds); RFC 2985 §5.2.1 (emailAddress).
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { invalidInput } from '../../../shared/result';

export type SubjectAttributeType = 'CN' | 'O' | 'OU' | 'C' | 'L' | 'ST' | 'emailAddress';

export interface SubjectAttribute {
  type: SubjectAttributeType;
  oid: string;
  value: string;
}

// X.520 attribute types (RFC 5280 Appendix A.1) and PKCS#9 emailAddress (RFC 2985 §5.2.1), with the
// upper bounds from RFC 5280 Appendix A.1 (ub-common-name 64, ub-organization-name 64,
// ub-organizational-unit-name 64, ub-locality-name 128, ub-state-name 128, ub-emailaddress-length 255).
const SUBJECT_TYPES: Record<SubjectAttributeType, { oid: string; max: number; encoding: 'utf8' | 'printable' | 'ia5' }> = {
  CN: { oid: '2.5.4.3', max: 64, encoding: 'utf8' },
  O: { oid: '2.5.4.10', max: 64, encoding: 'utf8' },
  OU: { oid: '2.5.4.11', max: 64, encoding: 'utf8' },
  // X520countryName ::= PrintableString (SIZE (2)), an ISO 3166 alpha-2 code.
  C: { oid: '2.5.4.6', max: 2, encoding: 'printable' },
  L: { oid: '2.5.4.7', max: 128, encoding: 'utf8' },
  ST: { oid: '2.5.4.8', max: 128, encoding: 'utf8' },
  // EmailAddress ::= IA5String (SIZE (1..ub-emailaddress-length)).
  emailAddress: { oid: '1.2.840.113549.1.9.1', max: 255, encoding: 'ia5' },
};
const SUBJECT_TYPE_BY_UPPER = new Map<string, SubjectAttributeType>(
  (Object.keys(SUBJECT_TYPES) as SubjectAttributeType[]).map((t) => [t.toUpperCase(), t]),
);
const SUBJECT_HELP = 'Write the subject like "CN=Root CA 2026,O=Example,C=GB"; escape a comma inside a value as "\\,".';

// RFC 4514 §2.4 / §3: characters that a `pair` may escape.
const ESCAPABLE = new Set(['"', '+', ',', ';', '<', '>', '\\', ' ', '#', '=']);

interface Token {
  ch: string;
  escaped: boolean;
}

function decodeHexRun(bytes: number[], position: number): string {
  const decoded = Buffer.from(bytes).toString('utf8');
  if (decoded.includes('\uFFFD') || !Buffer.from(decoded, 'utf8').equals(Buffer.from(bytes))) {
    invalidInput(`The hex escapes ending at position ${position} of the subject are not valid UTF-8.`, SUBJECT_HELP);
  }
  return decoded;
}

/**
 * Parses an RFC 4514 distinguished-name string, in its order (most specific first). Supported: the
 * attribute types CN, O, OU, C, L, ST and emailAddress (case-insensitive), backslash escapes of the
 * special characters and \XX hex escapes of UTF-8 bytes. Spaces around separators are tolerated.
 * Not supported, and refused with a reason: multi-valued RDNs ("+"), "#hex" BER values, ";" as a
 * separator (RFC 2253 legacy), quoted values (RFC 1779), and OIDs as attribute types.
 */
export function parseSubject(subject: string): SubjectAttribute[] {
  if (typeof subject !== 'string' || subject.trim() === '') invalidInput('The subject is empty.', SUBJECT_HELP);
  const result: SubjectAttribute[] = [];
  let i = 0;
  const n = subject.length;
  while (i < n) {
    // Attribute type, up to "=".
    const typeStart = i;
    while (i < n && subject[i] !== '=' && subject[i] !== ',') i++;
    const rawType = subject.slice(typeStart, i).trim();
    if (i >= n || subject[i] !== '=') {
      invalidInput(`"${rawType || subject.slice(typeStart).trim()}" in the subject has no "=" and value.`, SUBJECT_HELP);
    }
    if (rawType === '') invalidInput(`There is a value without an attribute type at position ${typeStart + 1} of the subject.`, SUBJECT_HELP);
    const type = SUBJECT_TYPE_BY_UPPER.get(rawType.toUpperCase());
    if (!type) {
      invalidInput(`The attribute type "${rawType}" is not supported in a subject.`, 'Use CN, O, OU, C, L, ST or emailAddress.');
    }
    i++; // past "="

    // Attribute value, up to an unescaped ",".
    const tokens: Token[] = [];
    let hex: number[] = [];
    const flushHex = () => {
      if (hex.length) {
        for (const ch of decodeHexRun(hex, i)) tokens.push({ ch, escaped: true });
        hex = [];
      }
    };
    while (i < n && subject[i] !== ',') {
      const c = subject[i]!;
      if (c === '\\') {
        const next = subject[i + 1];
        const pair = subject.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
          hex.push(parseInt(pair, 16));
          i += 3;
          continue;
        }
        flushHex();
        if (next === undefined || !ESCAPABLE.has(next)) {
          invalidInput(`The subject has a backslash at position ${i + 1} that does not escape a special character or a hex byte.`, SUBJECT_HELP);
        }
        tokens.push({ ch: next, escaped: true });
        i += 2;
        continue;
      }
      flushHex();
      if (c === '+') invalidInput(`The subject has an unescaped "+" at position ${i + 1}: multi-valued RDNs are not supported.`, 'Put each attribute in its own RDN (separate them with ","), or write "\\+" if the plus sign is part of the value.');
      if (c === ';') invalidInput(`The subject has an unescaped ";" at position ${i + 1}.`, 'Separate attributes with ","; write "\\;" if the semicolon is part of the value.');
      if (c === '"' || c === '<' || c === '>') invalidInput(`The subject has an unescaped ${c} at position ${i + 1}.`, `Write "\\${c}" if it is part of the value.`);
      tokens.push({ ch: c, escaped: false });
      i++;
    }
    flushHex();
    // Tolerate spaces around separators: drop unescaped spaces at both ends.
    while (tokens.length && !tokens[0]!.escaped && tokens[0]!.ch === ' ') tokens.shift();
    while (tokens.length && !tokens[tokens.length - 1]!.escaped && tokens[tokens.length - 1]!.ch === ' ') tokens.pop();
    if (tokens.length && !tokens[0]!.escaped && tokens[0]!.ch === '#') {
      invalidInput(`The ${type} value starts with "#", which RFC 4514 reserves for hex-encoded BER values (not supported).`, 'Write "\\#" if the value really starts with "#".');
    }
    const value = tokens.map((t) => t.ch).join('');
    result.push({ type, oid: SUBJECT_TYPES[type].oid, value: checkSubjectValue(type, value) });
    if (i < n) {
      i++; // past ","
      if (subject.slice(i).trim() === '') invalidInput('The subject ends with a ",".', SUBJECT_HELP);
    }
  }
  return result;
}

function checkSubjectValue(type: SubjectAttributeType, value: string): string {
  const spec = SUBJECT_TYPES[type];
  if (value === '') invalidInput(`The ${type} value is empty.`, SUBJECT_HELP);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) invalidInput(`The ${type} value contains a control character.`, 'Remove control characters from the subject.');
  const length = [...value].length;
  if (length > spec.max) invalidInput(`The ${type} value is ${length} characters; RFC 5280 allows at most ${spec.max}.`, 'Shorten it.');
  if (spec.encoding === 'printable' && !/^[A-Z]{2}$/.test(value)) {
    invalidInput(`C must be a two-letter upper-case ISO 3166 country code such as GB; got "${value}".`, 'Use the two-letter country code in capitals.');
  }
  if (spec.encoding === 'ia5') {
    // eslint-disable-next-line no-control-regex
    if (!/^[\x00-\x7f]*$/.test(value)) invalidInput('emailAddress must be ASCII (an IA5String).', 'Use an ASCII e-mail address.');
    if (!/^[^@\s]+@[^@\s]+$/.test(value)) invalidInput(`emailAddress "${value}" is not an e-mail address.`, 'Use the form name@example.com.');
  }
  return value;
}

/** The X.501 Name for a parsed subject, in DER order. */
export function buildName(attrs: SubjectAttribute[]): Name {
  // RFC 4514 §2.1 writes the RDNSequence last-to-first, so the encoding is the reverse of the string.
  return new Name(
    [...attrs].reverse().map((a) => {
      const enc = SUBJECT_TYPES[a.type].encoding;
      // RFC 5280 §4.1.2.6: DirectoryString values MUST be UTF8String in new certificates;
      // countryName is PrintableString and emailAddress IA5String by their definitions.
      const value =
        enc === 'utf8' ? new AttributeValue({ utf8String: a.value }) : enc === 'printable' ? new AttributeValue({ printableString: a.value }) : new AttributeValue({ ia5String: a.value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: a.oid, value })]);
    }),
  );
}
