/**
 * Share sheets: one printable A4 page per custodian, holding their SLIP-39 share and what
 * they need to look after it and to check it later (docs/FORMAT.md, "Share sheet").
 *
 * What is on a sheet: the numbered words in a grid, in a fixed-width font, large; the share's
 * fingerprint, set number, group and member numbers and thresholds; the holder's name; the
 * ceremony and its date; handling instructions in plain words; a "checked by" line; and, only
 * when asked, a QR code of the share. What is not: anything about the other holders, the
 * secret's check value (it belongs with the record, not in each envelope) or the passphrase.
 *
 * Text is real PDF text (selectable, extractable with pdftotext), in the PDF standard fonts
 * Helvetica and Courier (no font files to embed or to differ between machines). The output
 * is deterministic: the document dates come from the record's ceremony date, and pdfkit
 * derives the file ID from the document info.
 */

import { createRequire } from 'node:module';
import type PDFKit from 'pdfkit';
import {
  formatFingerprint,
  shareCheckError,
  verifyShareAgainstRecord,
  type ShareRecordEntry,
  type ShareSetRecord,
  type Sha256,
} from '../../../shared/shares';
import { CustosError, invalidInput } from '../../../shared/result';

// pdfkit finds its font metrics through its package "imports" map relative to its own files,
// which breaks when esbuild inlines it into dist/*.cjs. Loading it at run time from
// node_modules (like the other native/external packages) keeps those paths intact.
const loadModule = createRequire(__filename);
let pdfkit: typeof PDFKit | undefined;
export function PDFDocument(): typeof PDFKit {
  pdfkit ??= loadModule('pdfkit') as typeof PDFKit;
  return pdfkit;
}

// qrcode, like pdfkit, is loaded when a sheet is drawn, not with the service: most commands and
// screens never print, and a command-line call would pay for it at every start (issue #12 part 7).
type QrCode = typeof import('qrcode');
const loadQrCode = (): Promise<QrCode> => import('qrcode').then((m) => ((m as { default?: QrCode }).default ?? m) as QrCode);

export interface ShareSheetOptions {
  /**
   * Holder name the caller expects; the share must be the one the record assigns to them.
   * Omit to print whatever the record says (or a blank line when it names no one).
   */
  holder?: string;
  /** Add a QR code of the share. Off by default: anyone who photographs the sheet has the share. */
  qr?: boolean;
  sha256?: Sha256;
}

/** Printable with the standard fonts' WinAnsi encoding: Latin-1 plus common typographic marks. */
function printable(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff)) continue;
    if ('‘’“”–—…€•'.includes(ch)) continue;
    return false;
  }
  return true;
}

export function checkPrintable(what: string, text: string | null): void {
  if (text !== null && !printable(text)) {
    invalidInput(`The ${what} contains characters that the sheet's built-in fonts cannot print.`, 'Use Latin letters (accents are fine) for names, labels and ceremony ids that go on sheets.');
  }
}

// A4 in PostScript points (210 × 297 mm).
const PAGE_W = 595.28;
const PAGE_H = 841.89;
const MARGIN = 42;
const CONTENT_W = PAGE_W - 2 * MARGIN;
const INK = '#000000';
const GREY = '#555555';
const RULE = '#b0b0b0';

function ceremonyDate(record: ShareSetRecord): string {
  return record.createdAt.slice(0, 10);
}

function groupsNeeded(record: ShareSetRecord, entry: ShareRecordEntry): string {
  const g = record.groups[entry.groupIndex]!;
  const inGroup = `${g.memberThreshold} of the ${g.memberCount} shares`;
  if (record.set.groupCount === 1) return `${inGroup} of this set`;
  return `shares from ${record.set.groupThreshold} of the ${record.set.groupCount} groups; from group ${entry.groupIndex + 1}, ${inGroup}`;
}

function position(record: ShareSetRecord, entry: ShareRecordEntry): string {
  const g = record.groups[entry.groupIndex]!;
  const member = `share ${entry.memberIndex + 1} of ${g.memberCount}`;
  return record.set.groupCount === 1 ? member.charAt(0).toUpperCase() + member.slice(1) : `Group ${entry.groupIndex + 1} of ${record.set.groupCount}, ${member}`;
}

/** Draws the QR code as filled squares (vector, so it prints sharply and deterministically). */
function drawQr(QRCode: QrCode, doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number): void {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 4; // ISO/IEC 18004 quiet zone: 4 modules
  const m = size / (n + 2 * quiet);
  doc.save().rect(x, y, size, size).fill('#ffffff');
  for (let r = 0; r < n; r++) {
    let c = 0;
    while (c < n) {
      if (!qr.modules.get(r, c)) {
        c++;
        continue;
      }
      const start = c;
      while (c < n && qr.modules.get(r, c)) c++;
      doc.rect(x + (quiet + start) * m, y + (quiet + r) * m, (c - start) * m, m);
    }
  }
  doc.fill(INK).restore();
}

const INSTRUCTIONS = (record: ShareSetRecord, entry: ShareRecordEntry): string[] => [
  'This sheet holds one share of a secret split with SLIP-39. Alone it reveals nothing about the secret; ' +
    `it is needed together with other shares (${groupsNeeded(record, entry)}) to rebuild it.`,
  'Keep the sheet in a sealed, tamper-evident envelope, in a place only you can open. Do not photograph, scan, ' +
    'copy or type the words into any computer or phone, except at a recovery ceremony run by the key owner.',
  'Never give or read the words to anyone who asks for them by phone, e-mail or message. Recovery happens in ' +
    'person, under the key owner\'s written procedure.',
  'You can check your share at any time against the ceremony record, without anyone else\'s share: ' +
    '"custos shares verify --record FILE". The fingerprint below must match.',
  'If the sheet is lost, damaged, or may have been seen by someone else, tell the key owner at once: ' +
    'the shares can be replaced.',
];

/**
 * Renders the sheet for one share. The mnemonic is first checked against the record (and
 * against `holder`, when given); a share that does not match gets no sheet.
 * The returned buffer contains the share: write it, then zero it.
 */
export async function renderShareSheet(mnemonic: string, record: ShareSetRecord, opts: ShareSheetOptions = {}): Promise<Buffer> {
  const check = await verifyShareAgainstRecord(mnemonic, record, {
    ...(opts.holder !== undefined ? { holder: opts.holder } : {}),
    ...(opts.sha256 ? { sha256: opts.sha256 } : {}),
  });
  if (!check.ok) throw new CustosError(shareCheckError(check));
  const entry = check.entry;
  checkPrintable('holder name', entry.holder);
  checkPrintable('label', record.label);
  checkPrintable('ceremony id', record.ceremonyId);

  const words = mnemonic.trim().toLowerCase().split(/\s+/);
  const date = new Date(record.createdAt);
  const QRCode = opts.qr ? await loadQrCode() : undefined;
  const Doc = PDFDocument();
  const doc = new Doc({
    size: 'A4',
    margin: 0,
    autoFirstPage: true,
    compress: true,
    info: {
      Title: 'SLIP-39 share sheet',
      Subject: `Share sheet, set ${record.set.identifier}`,
      Creator: 'Custos',
      CreationDate: date,
      ModDate: date,
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', () => resolve());
    doc.on('error', reject);
  });

  let y = MARGIN;
  // Header.
  doc.font('Helvetica-Bold').fontSize(20).fillColor(INK).text('SLIP-39 share sheet', MARGIN, y, { lineBreak: false });
  doc.font('Helvetica-Bold').fontSize(11).text('CONFIDENTIAL', MARGIN, y + 6, { width: CONTENT_W, align: 'right', lineBreak: false });
  y += 28;
  if (record.label) {
    doc.font('Helvetica').fontSize(12).text(record.label, MARGIN, y, { width: CONTENT_W });
    y = doc.y + 2;
  }
  doc.moveTo(MARGIN, y + 4).lineTo(PAGE_W - MARGIN, y + 4).lineWidth(1).strokeColor(INK).stroke();
  y += 14;

  // Facts about this share (left), optional QR code (right).
  const qrSize = 150;
  const factsW = opts.qr ? CONTENT_W - qrSize - 16 : CONTENT_W;
  const labelW = 118;
  const facts: [string, string, boolean][] = [
    ['Holder', entry.holder ?? '', false],
    ['Share', position(record, entry), false],
    ['Needed to recover', groupsNeeded(record, entry).replace(/^./, (c) => c.toUpperCase()), false],
    ['Set', String(record.set.identifier), true],
    ['Share fingerprint', formatFingerprint(check.fingerprint), true],
    ['Ceremony', `${record.ceremonyId ? `${record.ceremonyId}, ` : ''}${ceremonyDate(record)}`, false],
    ['Words', `${words.length} (SLIP-39, ${record.set.secretBytes * 8}-bit secret)`, false],
  ];
  const factsTop = y;
  for (const [label, value, mono] of facts) {
    doc.font('Helvetica').fontSize(10).fillColor(GREY).text(label, MARGIN, y + (mono ? 1 : 0), { width: labelW, lineBreak: false });
    if (label === 'Holder' && value === '') {
      doc.moveTo(MARGIN + labelW, y + 11).lineTo(MARGIN + factsW, y + 11).lineWidth(0.5).strokeColor(INK).stroke();
      y += 17;
      continue;
    }
    doc.font(mono ? 'Courier-Bold' : 'Helvetica-Bold').fontSize(mono ? 12 : 11).fillColor(INK);
    doc.text(value, MARGIN + labelW, y, { width: factsW - labelW });
    y = Math.max(doc.y, y + 15) + 2;
  }
  if (QRCode) {
    const qx = PAGE_W - MARGIN - qrSize;
    // Upper case puts the words in QR alphanumeric mode (smaller code); SLIP-39 ignores case.
    drawQr(QRCode, doc, words.join(' ').toUpperCase(), qx, factsTop - 4, qrSize);
    doc.font('Helvetica-Bold').fontSize(7.5).fillColor(INK);
    doc.text('This QR code contains the share itself. Anyone who photographs it has the share.', qx, factsTop + qrSize - 2, { width: qrSize, align: 'center' });
    y = Math.max(y, doc.y + 4);
  }
  y += 8;

  // The words: numbered, column by column, in Courier, large. Sized so that the longest
  // possible entry ("99. academic": 8 letters is the longest SLIP-39 word) always fits.
  doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text('Share words, in this order', MARGIN, y, { lineBreak: false });
  y += 18;
  const cols = words.length <= 36 ? 3 : 4;
  const rows = Math.ceil(words.length / cols);
  const gridBottomLimit = PAGE_H - MARGIN - 250;
  const rowH = Math.min(27, (gridBottomLimit - y) / rows);
  const colW = CONTENT_W / cols;
  const numDigits = String(words.length).length;
  let fontSize = Math.min(15, rowH * 0.62);
  doc.font('Courier-Bold');
  while (doc.fontSize(fontSize).widthOfString(`${'9'.repeat(numDigits)}. academic`) > colW - 16) fontSize -= 0.5;
  const gridTop = y;
  doc.rect(MARGIN, gridTop, CONTENT_W, rows * rowH).lineWidth(1).strokeColor(INK).stroke();
  for (let r = 1; r < rows; r++) {
    doc.moveTo(MARGIN, gridTop + r * rowH).lineTo(PAGE_W - MARGIN, gridTop + r * rowH).lineWidth(0.4).strokeColor(RULE).stroke();
  }
  for (let c = 1; c < cols; c++) {
    doc.moveTo(MARGIN + c * colW, gridTop).lineTo(MARGIN + c * colW, gridTop + rows * rowH).lineWidth(0.8).strokeColor(INK).stroke();
  }
  words.forEach((w, i) => {
    const c = Math.floor(i / rows);
    const r = i % rows;
    const label = `${String(i + 1).padStart(numDigits, ' ')}. ${w}`;
    doc.font('Courier-Bold').fontSize(fontSize).fillColor(INK);
    doc.text(label, MARGIN + c * colW + 10, gridTop + r * rowH + (rowH - fontSize * 0.75) / 2 - 1, { lineBreak: false });
  });
  y = gridTop + rows * rowH + 16;

  // Handling instructions.
  doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text('How to look after this share', MARGIN, y, { lineBreak: false });
  y += 16;
  doc.font('Helvetica').fontSize(9.5);
  INSTRUCTIONS(record, entry).forEach((line, i) => {
    doc.text(`${i + 1}.`, MARGIN, y, { width: 14, lineBreak: false });
    doc.text(line, MARGIN + 16, y, { width: CONTENT_W - 16 });
    y = doc.y + 4;
  });

  // Checked-by line, then the footer.
  const signY = PAGE_H - MARGIN - 42;
  doc.font('Helvetica').fontSize(9).fillColor(GREY).text('Checked against the record at the ceremony:', MARGIN, signY - 16, { lineBreak: false });
  const fields: [string, number][] = [['Checked by', 190], ['Date', 110], ['Signature', 150]];
  let x = MARGIN;
  for (const [label, width] of fields) {
    doc.font('Helvetica').fontSize(10).fillColor(INK).text(label, x, signY, { lineBreak: false });
    const lx = x + doc.widthOfString(label) + 6;
    doc.moveTo(lx, signY + 10).lineTo(x + width - 10, signY + 10).lineWidth(0.5).strokeColor(INK).stroke();
    x += width;
  }
  x = Math.min(x, PAGE_W - MARGIN);
  doc.font('Helvetica').fontSize(7.5).fillColor(GREY);
  doc.text(
    `Custos share sheet · set ${record.set.identifier} · fingerprint ${formatFingerprint(check.fingerprint)} · format custos.shareset v1`,
    MARGIN,
    PAGE_H - MARGIN + 6,
    { width: CONTENT_W, align: 'center', lineBreak: false },
  );

  doc.end();
  await done;
  const pdf = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return pdf;
}

const slug = (s: string): string =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'holder';

/** File name of a share sheet: set, group, member and holder, so a folder of sheets sorts well. */
export function sheetFileName(record: ShareSetRecord, groupIndex: number, memberIndex: number, holder: string | null): string {
  return `set${record.set.identifier}-g${groupIndex + 1}-s${memberIndex + 1}${holder ? `-${slug(holder)}` : ''}.pdf`;
}
