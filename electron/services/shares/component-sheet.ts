/**
 * Key component sheets: one printable A4 page per component holder, made at a component-creation
 * ceremony (docs/FORMAT.md, "Key component sheet"). PCI PIN Security Requirement 20 and ANSI
 * X9.24-1 want each clear component under one custodian's sole control, in a tamper-evident
 * envelope whose serial number is recorded; the sheet is built for that: the component in groups of
 * four hex digits, its check value (so the holder can check the print before sealing and a later
 * forming ceremony can check the typing), the key's label and check value, a box for the envelope's
 * serial number, signature lines, and what to do with it in plain words. Nothing about the other
 * components is on it.
 *
 * Same conventions as share sheets (sheets.ts): real PDF text in the standard fonts, deterministic
 * (the document dates are the ceremony's). The returned buffer holds the component: the caller
 * writes it and zeroises it.
 */
import { groupHex } from '../../../shared/components';
import { checkPrintable, PDFDocument } from './sheets';
import { checkValueText } from '../../../shared/check-value';

export interface ComponentSheetInput {
  holder: string;
  /** 1-based, and how many components the key has. */
  index: number;
  of: number;
  keyLabel: string;
  /** "AES-256", "TDES-2key", … */
  algorithm: string;
  /** The key's check value and its method, as read aloud at the ceremony. */
  keyCheckValue: string;
  method: string;
  /** The component (its bytes), and its own check value by the same method. */
  component: Uint8Array;
  componentCheckValue: string;
  ceremonyId: string;
  /** ISO date-time of the ceremony (the document dates). */
  at: string;
  practice: boolean;
}

const PAGE_W = 595.28;
const PAGE_H = 841.89;
const MARGIN = 42;
const CONTENT_W = PAGE_W - 2 * MARGIN;
const INK = '#000000';
const GREY = '#555555';

const instructions = (x: ComponentSheetInput): string[] => [
  `This sheet holds component ${x.index} of the ${x.of} XOR components of the key “${x.keyLabel}”. Alone it reveals nothing about the key; all ${x.of} components, entered by their holders, form it again.`,
  'Now, before you leave the ceremony: check that the component check value above is what you type back on the ceremony screen. Write the serial number of your tamper-evident envelope in the box, fold the sheet, seal it in that envelope in front of the witness, sign across the seal, and give the serial number to the operator.',
  'Keep the sealed envelope where only you can open it (your safe). Do not photograph, scan, copy or type the component anywhere, except at a ceremony that forms this key.',
  'Who may open the envelope: only you, the holder named above, at a ceremony run by the key owner under dual control with a witness present. Never open it alone, and never read the component to anyone by phone, e-mail or message.',
  'If the envelope is lost, damaged or looks opened, tell the key owner at once: the key must then be replaced. Before each forming ceremony, compare the envelope’s serial number with the one in the ceremony record.',
];

export async function renderComponentSheet(x: ComponentSheetInput): Promise<Buffer> {
  checkPrintable('holder name', x.holder);
  checkPrintable('key label', x.keyLabel);
  const date = new Date(x.at);
  const Doc = PDFDocument();
  const doc = new Doc({
    size: 'A4',
    margin: 0,
    autoFirstPage: true,
    compress: true,
    info: { Title: 'Key component sheet', Subject: `Component ${x.index} of ${x.of}`, Creator: 'Custos', CreationDate: date, ModDate: date },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', () => resolve());
    doc.on('error', reject);
  });

  let y = MARGIN;
  doc.font('Helvetica-Bold').fontSize(20).fillColor(INK).text(`${x.practice ? 'PRACTICE — ' : ''}Key component sheet`, MARGIN, y, { lineBreak: false });
  doc.font('Helvetica-Bold').fontSize(11).text('SECRET — SEAL IN ITS ENVELOPE', MARGIN, y + 6, { width: CONTENT_W, align: 'right', lineBreak: false });
  y += 28;
  doc.font('Helvetica').fontSize(12).text(x.keyLabel, MARGIN, y, { width: CONTENT_W });
  y = doc.y + 2;
  doc.moveTo(MARGIN, y + 4).lineTo(PAGE_W - MARGIN, y + 4).lineWidth(1).strokeColor(INK).stroke();
  y += 14;

  const labelW = 150;
  const facts: [string, string, boolean][] = [
    ['Holder', x.holder, false],
    ['Component', `${x.index} of ${x.of} (all ${x.of} are needed to form the key)`, false],
    ['Key', `${x.keyLabel}, ${x.algorithm}`, false],
    ['Key check value', `${checkValueText(x.keyCheckValue)}  (${x.method})`, true],
    ['Ceremony', `${x.ceremonyId}, ${x.at.slice(0, 10)}`, false],
  ];
  for (const [label, value, mono] of facts) {
    doc.font('Helvetica').fontSize(10).fillColor(GREY).text(label, MARGIN, y + (mono ? 1 : 0), { width: labelW, lineBreak: false });
    doc.font(mono ? 'Courier-Bold' : 'Helvetica-Bold').fontSize(mono ? 12 : 11).fillColor(INK);
    doc.text(value, MARGIN + labelW, y, { width: CONTENT_W - labelW });
    y = Math.max(doc.y, y + 15) + 2;
  }
  y += 10;

  // The component: groups of four hex digits, eight to a line, numbered by line so a holder reading
  // it back at a forming ceremony does not lose their place.
  doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text(`Component ${x.index}, in groups of four hexadecimal digits`, MARGIN, y, { lineBreak: false });
  y += 18;
  const groups = groupHex(Buffer.from(x.component).toString('hex').toUpperCase()).split(' ');
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 8) lines.push(groups.slice(i, i + 8).join('  '));
  const rowH = 30;
  doc.rect(MARGIN, y, CONTENT_W, lines.length * rowH + 12).lineWidth(1.2).strokeColor(INK).stroke();
  lines.forEach((line, i) => {
    doc.font('Courier').fontSize(10).fillColor(GREY).text(`${i + 1}`, MARGIN + 10, y + 12 + i * rowH + 4, { lineBreak: false });
    doc.font('Courier-Bold').fontSize(17).fillColor(INK).text(line, MARGIN + 34, y + 10 + i * rowH, { lineBreak: false });
  });
  y += lines.length * rowH + 22;
  doc.font('Helvetica').fontSize(10).fillColor(GREY).text('Component check value', MARGIN, y + 1, { width: labelW, lineBreak: false });
  doc.font('Courier-Bold').fontSize(15).fillColor(INK).text(checkValueText(x.componentCheckValue), MARGIN + labelW, y - 1, { lineBreak: false });
  doc.font('Helvetica').fontSize(9).fillColor(GREY).text(`${x.method}, of this component alone: you type it back at the ceremony`, MARGIN + labelW, y + 17, { width: CONTENT_W - labelW });
  y += 42;

  // The envelope's serial number: written by hand before sealing, and typed into the record.
  doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text('Tamper-evident envelope serial number', MARGIN, y, { lineBreak: false });
  y += 16;
  doc.rect(MARGIN, y, 300, 34).lineWidth(1.2).strokeColor(INK).stroke();
  doc.font('Helvetica').fontSize(9).fillColor(GREY).text('Write it here before sealing; the ceremony records it.', MARGIN + 312, y + 4, { width: CONTENT_W - 312 });
  y += 48;

  doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text('What to do with this sheet', MARGIN, y, { lineBreak: false });
  y += 16;
  doc.font('Helvetica').fontSize(9.5).fillColor(INK);
  instructions(x).forEach((line, i) => {
    doc.text(`${i + 1}.`, MARGIN, y, { width: 14, lineBreak: false });
    doc.text(line, MARGIN + 16, y, { width: CONTENT_W - 16 });
    y = doc.y + 4;
  });

  // Signatures: the holder took the sheet and sealed it; the witness saw it sealed.
  const signY = PAGE_H - MARGIN - 60;
  const fields: Array<[string, number]> = [['Holder’s signature', 300], ['Date', 211]];
  for (const [row, who] of [[0, 'Holder’s signature'], [1, 'Witness’s signature']] as const) {
    let xPos = MARGIN;
    for (const [label, width] of fields) {
      const text = label === 'Holder’s signature' ? who : label;
      const ly = signY + row * 26;
      doc.font('Helvetica').fontSize(10).fillColor(INK).text(text, xPos, ly, { lineBreak: false });
      const lx = xPos + doc.widthOfString(text) + 6;
      doc.moveTo(lx, ly + 10).lineTo(xPos + width - 10, ly + 10).lineWidth(0.5).strokeColor(INK).stroke();
      xPos += width;
    }
  }
  doc.font('Helvetica').fontSize(7.5).fillColor(GREY);
  doc.text(`Custos key component sheet · component ${x.index} of ${x.of} · ceremony ${x.ceremonyId}`, MARGIN, PAGE_H - MARGIN + 6, {
    width: CONTENT_W,
    align: 'center',
    lineBreak: false,
  });

  doc.end();
  await done;
  const pdf = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return pdf;
}
