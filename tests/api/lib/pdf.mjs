// A small PDF writer for tests: pages of text lines in Helvetica (WinAnsi, so French accents
// work), with a correct cross-reference table, so that poppler reads it as any real PDF.

/** Escapes a line for a PDF string, in Latin-1 (WinAnsiEncoding covers French). */
function pdfString(s) {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '(' || ch === ')' || ch === '\\') out += '\\' + ch;
    else if (c === 0x2019) out += '\\222'; // right single quote
    else if (c === 0x153) out += '\\234'; // œ
    else if (c < 0x80) out += ch;
    else if (c < 0x100) out += '\\' + c.toString(8).padStart(3, '0');
    else out += '?';
  }
  return out;
}

/** pages: an array of pages, each an array of lines (or one string, wrapped at ~90 characters). */
export function makePdf(pages) {
  const objs = [];
  const add = (s) => { objs.push(s); return objs.length; };
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const pagesId = objs.length + 1;
  add(null); // Pages, filled below
  const kids = [];
  for (const p of pages) {
    const lines = Array.isArray(p) ? p : wrap(p, 90);
    let content = 'BT /F1 11 Tf 14 TL 50 790 Td\n';
    for (const l of lines) content += `(${pdfString(l)}) Tj T*\n`;
    content += 'ET\n';
    const len = Buffer.byteLength(content, 'latin1');
    const c = add(`<< /Length ${len} >>\nstream\n${content}endstream`);
    kids.push(add(`<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${c} 0 R >>`));
  }
  objs[pagesId - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  const catalog = add(`<< /Type /Catalog /Pages ${pagesId} 0 R >>`);
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

function wrap(text, width) {
  const lines = [];
  let cur = '';
  for (const w of text.split(/\s+/)) {
    if (cur && (cur + ' ' + w).length > width) { lines.push(cur); cur = w; } else cur = cur ? cur + ' ' + w : w;
  }
  if (cur) lines.push(cur);
  return lines;
}
