// A real SMTP server on loopback for the tests (the npm package smtp-server): it accepts every
// message without authentication or TLS and records each one with its envelope and its raw text,
// decoded enough for assertions (headers, RFC 2047 subject, base64 or 8-bit text body).
//
//   const smtp = await startSmtp();  // smtp.url = "smtp://127.0.0.1:PORT"
//   ... smtp.mails: [{from, to: [..], raw, headers, subject, text}]
//   await smtp.close();
import { SMTPServer } from 'smtp-server';

/** Decodes RFC 2047 encoded words (B and Q) of a header value. */
export function decodeWords(v) {
  return v.replace(/\r?\n[ \t]/g, ' ').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=(\s+(?==\?))?/g, (_, cs, enc, data) => {
    const bytes = /b/i.test(enc) ? Buffer.from(data, 'base64')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    return bytes.toString(/utf-?8/i.test(cs) ? 'utf8' : 'latin1');
  });
}

/** Splits a raw message into lower-cased headers (unfolded, decoded) and its decoded text. */
export function parseMail(raw) {
  const cut = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, cut).replace(/\r\n[ \t]/g, ' ');
  const headers = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  let body = raw.slice(cut + 4);
  if (/base64/i.test(headers['content-transfer-encoding'] || '')) body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, subject: headers.subject || '', text: body };
}

/** Starts the server on a free loopback port. */
export async function startSmtp() {
  const mails = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parseMail(raw),
        });
        callback();
      });
    },
  });
  await new Promise((res, rej) => { server.once('error', rej); server.listen(0, '127.0.0.1', res); });
  const { port } = server.server.address();
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise((res) => server.close(res)),
  };
}
