// The printable ceremony record (record.pdf in the evidence bundle), drawn from the transcript
// alone: the same transcript gives the same bytes (the document dates come from the transcript,
// pdfkit derives the file ID from the document info, and only the PDF standard fonts are used, so
// nothing depends on the machine). It is the paper the participants sign: a checkbox per step, the
// fingerprint words, the approvals, an exception sheet per exception, and a signature line per
// participant. A practice ceremony carries a PRACTICE watermark on every page.
import { destructionCertificate } from '../../../shared/ceremony/destruction-certificate';
import { createRequire } from 'node:module';
import type PDFKit from 'pdfkit';
import { runTitle, STEP_KIND_INFO, type StepKind } from '../../../shared/ceremony/definition';
import type { Transcript } from '../../../shared/ceremony/transcript';

const loadModule = createRequire(__filename);
let pdfkit: typeof PDFKit | undefined;
const PDFDocument = (): typeof PDFKit => (pdfkit ??= loadModule('pdfkit') as typeof PDFKit);

const PAGE_W = 595.28;
const PAGE_H = 841.89;
const MARGIN = 48;
const CONTENT_W = PAGE_W - 2 * MARGIN;
const INK = '#000000';
const GREY = '#555555';
const RULE = '#9a9a9a';

/** The standard fonts print WinAnsi: anything else becomes "?" (names are checked at enrolment). */
function pdfText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) || '‘’“”–—…•'.includes(ch) ? ch : '?';
  }
  return out;
}

/** Keys in canonical order: the record must not depend on the order an object was built in. */
const sortedEntries = (o: Record<string, unknown>): Array<[string, unknown]> =>
  Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => [k, o[k]]);

function value(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length ? v.map(value).join(', ') : '—';
  return sortedEntries(v as Record<string, unknown>)
    .map(([k, x]) => `${k} ${value(x)}`)
    .join('; ');
}

const short = (hex: string | null | undefined) => (hex ? hex.slice(0, 16).toUpperCase().match(/.{4}/g)!.join(' ') : '—');

export async function renderRecordPdf(t: Transcript): Promise<Buffer> {
  const date = new Date(t.endedAt ?? t.startedAt);
  const Doc = PDFDocument();
  const doc = new Doc({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN + 14, left: MARGIN, right: MARGIN },
    autoFirstPage: false,
    bufferPages: true,
    compress: true,
    info: {
      Title: `${t.practice ? 'PRACTICE — ' : ''}Ceremony record: ${pdfText(runTitle(t.definition, t.params))}`,
      Subject: `Custos ceremony ${t.run}`,
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
  doc.on('pageAdded', () => {
    if (!t.practice) return;
    // Behind everything else on the page.
    doc.save();
    doc.rotate(-45, { origin: [PAGE_W / 2, PAGE_H / 2] });
    doc.font('Helvetica-Bold').fontSize(96).fillColor('#dddddd').text('PRACTICE', 0, PAGE_H / 2 - 48, { width: PAGE_W, align: 'center', lineBreak: false });
    doc.restore();
    doc.fillColor(INK);
    doc.x = MARGIN;
    doc.y = MARGIN;
  });
  doc.addPage();

  const heading = (text: string) => {
    if (doc.y > PAGE_H - 160) doc.addPage();
    doc.moveDown(0.8);
    doc.font('Helvetica-Bold').fontSize(13).fillColor(INK).text(pdfText(text), MARGIN, doc.y, { width: CONTENT_W });
    const y = doc.y + 2;
    doc.moveTo(MARGIN, y).lineTo(PAGE_W - MARGIN, y).lineWidth(0.5).strokeColor(RULE).stroke();
    doc.y = y + 6;
  };
  const fact = (label: string, text: string, mono = false) => {
    const y = doc.y;
    doc.font('Helvetica').fontSize(9.5).fillColor(GREY).text(label, MARGIN, y, { width: 130 });
    doc.font(mono ? 'Courier' : 'Helvetica').fontSize(mono ? 9.5 : 10).fillColor(INK).text(pdfText(text), MARGIN + 134, y, { width: CONTENT_W - 134 });
    doc.y = Math.max(doc.y, y + 13);
  };
  const box = (x: number, y: number, checked: boolean) => {
    doc.rect(x, y, 9, 9).lineWidth(0.8).strokeColor(INK).stroke();
    if (checked) doc.moveTo(x + 2, y + 4.5).lineTo(x + 4, y + 7).lineTo(x + 7.5, y + 2).lineWidth(1.2).stroke();
  };

  // Title.
  doc.font('Helvetica-Bold').fontSize(18).fillColor(INK).text(`${t.practice ? 'PRACTICE — ' : ''}Ceremony record`, MARGIN, MARGIN, { width: CONTENT_W });
  doc.font('Helvetica').fontSize(13).text(pdfText(runTitle(t.definition, t.params)), { width: CONTENT_W });
  doc.moveDown(0.5);
  fact('Workstation record', t.record.name);
  fact('Ceremony (run)', t.run, true);
  fact('Definition', `${t.definition.id} revision ${t.definition.revision} · ${short(t.definition.hash)}`);
  fact('Started', t.startedAt);
  fact('Ended', t.endedAt ?? '—');
  fact('Outcome', t.status === 'completed' ? 'completed' : t.status === 'aborted' ? 'ABORTED' : 'in progress');
  if (t.practice) fact('Practice', 'Yes: a practice ceremony on a practice record. Nothing here protects real data.');
  fact('Previous bundle', t.previousBundle ? short(t.previousBundle) : 'none (the first for this subject)', !!t.previousBundle);
  fact('Audit key', t.record.auditKey ? short(t.record.auditKey) : '—', true);

  heading('Ceremony fingerprint — read aloud and confirmed by every participant');
  doc.font('Helvetica-Bold').fontSize(15).fillColor(INK).text(t.fingerprint.words.join('  '), MARGIN, doc.y, { width: CONTENT_W });
  doc.moveDown(0.3);
  doc.font('Courier').fontSize(10).text(t.fingerprint.groups, { width: CONTENT_W });

  heading('Parameters');
  for (const [k, v] of sortedEntries(t.params)) fact(k, value(v));

  heading('Participants');
  for (const p of t.participants) {
    const c = p.credential;
    const cred = c ? `${c.kind === 'card' ? `card ${c.card?.model ?? ''} serial ${c.card?.serial ?? ''}` : 'passphrase (weaker)'} · ${short(c.fingerprint)}` : 'no credential';
    fact(p.name, `${p.roleTitles.join(', ')} — ${cred}`);
  }

  heading('Steps');
  for (const s of t.steps) {
    if (doc.y > PAGE_H - 120) doc.addPage();
    const y = doc.y;
    box(MARGIN, y + 1, s.status === 'done' || s.status === 'skipped');
    box(MARGIN + 14, y + 1, !!s.witnessTick);
    doc.font('Helvetica-Bold').fontSize(10).fillColor(INK).text(`${s.index + 1}. ${pdfText(s.title)}`, MARGIN + 32, y, { width: CONTENT_W - 32 });
    const actor = `${STEP_KIND_INFO[s.kind as StepKind]?.title ?? s.kind} · done by the ${s.actor}${s.quorum ? ` · needs ${s.quorum.threshold} ${s.quorum.role} approvals` : ''} · ${s.status}${s.witnessTick ? ` · ticked by ${pdfText(s.witnessTick.name)}` : ''}`;
    doc.font('Helvetica').fontSize(8.5).fillColor(GREY).text(pdfText(actor), MARGIN + 32, doc.y, { width: CONTENT_W - 32 });
    if (s.outcome) doc.font('Helvetica').fontSize(8.5).fillColor(INK).text(pdfText(value(s.outcome)), MARGIN + 32, doc.y, { width: CONTENT_W - 32 });
    for (const p of s.progress) doc.font('Helvetica').fontSize(8.5).fillColor(INK).text(pdfText(`– ${value(p)}`), MARGIN + 40, doc.y, { width: CONTENT_W - 40 });
    doc.y += 4;
  }
  doc.font('Helvetica').fontSize(8).fillColor(GREY).text('First box: done (or skipped with its reason). Second box: ticked by the witness.', MARGIN, doc.y, { width: CONTENT_W });

  heading('Approvals (signatures made inside each custodian’s card)');
  if (t.approvals.length === 0) doc.font('Helvetica').fontSize(10).fillColor(INK).text('None.', MARGIN, doc.y);
  for (const a of t.approvals) fact(`${a.step} · ${a.name}`, `${a.at} · credential ${short(a.credential)} · counter ${a.counter} · signature ${short(a.signature)}`);

  heading('Exceptions');
  if (t.exceptions.length === 0) doc.font('Helvetica').fontSize(10).fillColor(INK).text('None were recorded.', MARGIN, doc.y);
  for (const e of t.exceptions) {
    if (doc.y > PAGE_H - 200) doc.addPage();
    doc.font('Helvetica-Bold').fontSize(10).fillColor(INK).text(`Exception ${e.id.slice(0, 8)}${e.step ? ` at step "${e.step}"` : ''} — raised by ${pdfText(e.raisedBy)} at ${e.at}`, MARGIN, doc.y, { width: CONTENT_W });
    fact('Expected', e.expected);
    fact('Happened', e.happened);
    fact('Decision', e.decision ? `${e.decision.text} (${e.decision.by}, ${e.decision.at})` : 'NOT DECIDED');
    fact('Acknowledged', e.acknowledged ? `by ${e.acknowledged.by}, ${e.acknowledged.at}` : 'NOT ACKNOWLEDGED');
    doc.y += 6;
  }

  // A destruction's certificate (destruction-certificate.json, the same data) printed for signature:
  // each item, how it went and the proof it is gone (NIST SP 800-88 Rev. 1 §4.7).
  const cert = destructionCertificate(t);
  if (cert) {
    heading('Destruction certificate');
    fact('Reason', cert.reason);
    for (const it of cert.items) {
      if (doc.y > PAGE_H - 160) doc.addPage();
      doc.font('Helvetica-Bold').fontSize(10).fillColor(INK).text(pdfText(`${it.item} — ${it.where === 'archive' ? 'archived material' : 'workstation token'}`), MARGIN, doc.y, { width: CONTENT_W });
      fact('Identity', `${it.algorithm}${it.idHex ? ` · CKA_ID ${it.idHex}` : ''}${it.versionId ? ` · version id ${it.versionId}` : ''} · check value ${it.checkValue ?? 'none'}${it.checkMethod ? ` (${it.checkMethod})` : ''}`);
      fact('How, when', `${it.how}${it.deactivatedFirst ? '; deactivated first' : ''} · ${it.destroyedAt}`);
      fact('Proof', it.proof);
      fact('Other copies', it.copiesRemaining.length ? it.copiesRemaining.join('; ') : 'none: it was the last copy');
      if (it.consequence) fact('What stopped working', it.consequence);
      doc.y += 4;
    }
    fact('Approved by', cert.approvals.map((a) => a.name).join(', ') || '—');
    fact('Witness', cert.witness?.name ?? '—');
  }

  heading('Sign-off');
  doc.font('Helvetica').fontSize(9).fillColor(GREY).text('Each participant signs to confirm that the steps above were done as written, in their presence.', MARGIN, doc.y, { width: CONTENT_W });
  doc.moveDown(0.8);
  for (const p of t.participants) {
    if (doc.y > PAGE_H - 90) doc.addPage();
    const y = doc.y + 18;
    doc.font('Helvetica').fontSize(10).fillColor(INK).text(pdfText(`${p.name} (${p.roleTitles.join(', ')})`), MARGIN, y - 12, { width: 220 });
    doc.moveTo(MARGIN + 230, y).lineTo(PAGE_W - MARGIN - 110, y).lineWidth(0.5).strokeColor(INK).stroke();
    doc.font('Helvetica').fontSize(8).fillColor(GREY).text('signature', MARGIN + 230, y + 2, { lineBreak: false });
    doc.moveTo(PAGE_W - MARGIN - 100, y).lineTo(PAGE_W - MARGIN, y).stroke();
    doc.text('date', PAGE_W - MARGIN - 100, y + 2, { lineBreak: false });
    doc.y = y + 16;
    doc.x = MARGIN;
  }

  // Footers, once the page count is known.
  const range = doc.bufferedPageRange();
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(range.start + i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc.font('Helvetica').fontSize(7.5).fillColor(GREY).text(
      `${t.practice ? 'PRACTICE · ' : ''}Custos ceremony record · run ${t.run} · fingerprint ${t.fingerprint.words.slice(0, 4).join(' ')} … · page ${i + 1} of ${range.count}`,
      MARGIN,
      PAGE_H - MARGIN + 10,
      { width: CONTENT_W, align: 'center', lineBreak: false },
    );
    doc.page.margins.bottom = bottom;
  }
  doc.end();
  await done;
  return Buffer.concat(chunks);
}
