/**
 * Builds the RFC 5322 / MIME source of an outgoing email (multipart/alternative: text, then HTML)
 * as one buffer, so an SMTP connection writes each message with one socket write. This replaces
 * nodemailer's MailComposer, whose stream pipeline (per-part transforms, chunked socket writes)
 * was the largest cost of a send in the email benchmark.
 *
 * Bodies that are 7-bit with lines of at most 998 octets go out as they are (7bit, line ends
 * normalized to CRLF); anything else is quoted-printable. Header values never carry CR or LF
 * (no header injection); non-ASCII words in headers become RFC 2047 encoded-words.
 */
import { randomBytes } from 'node:crypto';
import { parseAddressList, type Mailbox } from './address-list.js';
import { encodeQuotedPrintable, encodeWords, foldHeader, quoteString } from './mime-encoding.js';
import type { ProviderMessage } from './provider.js';

/** What a provider is handed, plus the Message-ID (`<…@domain>`) and Date headers' values. */
export type MimeMessage = Pick<ProviderMessage, 'from' | 'to' | 'subject' | 'html' | 'text' | 'headers'> & {
  messageId: string;
  date: Date;
};

export interface Envelope {
  from: string;
  to: string[];
}

// A boundary is this process's random prefix and a counter: unguessable by anyone writing content.
const BOUNDARY_PREFIX = `uh_${randomBytes(12).toString('hex')}`;
let boundaryCounter = 0;

/** Headers this module writes itself; a caller's header of the same name would duplicate them. */
const RESERVED = new Set(['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding']);

const FIELD_NAME = /^[!-9;-~]+$/;
const NEEDS_ENCODING = /[^\x20-\x7e]/;
const ATOM_TEXT = /^[\w!#$%&'*+/=?^`{|}~ -]*$/;

function oneLine(value: string): string {
  return value.replace(/[\r\n]+[ \t]*/g, ' ');
}

function headerLine(name: string, value: string): string {
  const flat = oneLine(value);
  const encoded = NEEDS_ENCODING.test(flat) ? encodeWords(flat) : flat;
  return foldHeader(`${name}: ${encoded}`);
}

/**
 * A lone address with nothing RFC 5322 would read otherwise (no white space, quotes, comments,
 * brackets or separators): parseAddressList gives exactly this mailbox for it, with no name.
 */
const BARE_ADDRESS = /^[^\s"(),:;<>@[\\\]]+@[^\s"(),:;<>@[\\\]]+$/;

/** Parsed fields by their text: a sender's From is the same on all of its messages. */
const parsedFields = new Map<string, readonly Mailbox[]>();
const PARSED_FIELDS_MAX = 512;

/** The mailboxes with an address in a From or To field (frozen: shared by every caller). */
function mailboxes(field: string): readonly Mailbox[] {
  if (BARE_ADDRESS.test(field)) return [{ name: '', address: field }];
  let parsed = parsedFields.get(field);
  if (parsed === undefined) {
    parsed = Object.freeze(parseAddressList(oneLine(field)).filter((m) => m.address !== '').map((m) => Object.freeze(m)));
    // A bound, not an LRU: fields other than a sender's few From are seldom repeated.
    if (parsedFields.size >= PARSED_FIELDS_MAX) parsedFields.clear();
    parsedFields.set(field, parsed);
  }
  return parsed;
}

/** `Name <address>` with the display name quoted or encoded as needed. */
function formatMailbox(mailbox: Mailbox): string {
  if (!mailbox.name) return mailbox.address;
  let name: string;
  if (NEEDS_ENCODING.test(mailbox.name)) name = encodeWords(mailbox.name);
  else if (ATOM_TEXT.test(mailbox.name)) name = mailbox.name;
  else name = quoteString(mailbox.name);
  return `${name} <${mailbox.address}>`;
}

function addressHeader(name: string, field: string): string {
  return foldHeader(`${name}: ${mailboxes(field).map(formatMailbox).join(', ')}`);
}

/** Whether every line (between CRLFs) is at most 998 characters long (RFC 5322 2.1.1). */
function shortLines(normalized: string): boolean {
  let start = 0;
  for (;;) {
    const end = normalized.indexOf('\r\n', start);
    if ((end < 0 ? normalized.length : end) - start > 998) return false;
    if (end < 0) return true;
    start = end + 2;
  }
}

const LINE_END = /\r\n|\r|\n/g;

/** CRLF line ends. Rendered bodies have LF only, where a plain replaceAll is much faster than the regex. */
function normalizeLineEnds(body: string): string {
  return body.includes('\r') ? body.replace(LINE_END, '\r\n') : body.replaceAll('\n', '\r\n');
}

/** The body and its transfer encoding: 7bit when it already is, quoted-printable otherwise. */
function encodeBody(body: string): { encoding: '7bit' | 'quoted-printable'; content: string } {
  const normalized = normalizeLineEnds(body);
  // eslint-disable-next-line no-control-regex -- 7bit allows no NUL and no 8-bit octets
  const sevenBit = !/[^\x01-\x7f]/.test(normalized) && shortLines(normalized);
  if (sevenBit) return { encoding: '7bit', content: normalized };
  return { encoding: 'quoted-printable', content: encodeQuotedPrintable(normalized) };
}

/** The SMTP envelope of a message: the bare addresses of From and To. */
export function envelopeOf(from: string, to: string): Envelope {
  const sender = mailboxes(from)[0]?.address;
  const recipients = mailboxes(to).map((m) => m.address);
  if (!sender) throw new Error(`no sender address in "${from}"`);
  if (recipients.length === 0) throw new Error(`no recipient address in "${to}"`);
  return { from: sender, to: recipients };
}

/** The complete message source, CRLF line ends, ready for SMTP DATA (before dot-stuffing). */
export function buildMimeMessage(message: MimeMessage): Buffer {
  const text = encodeBody(message.text);
  const html = encodeBody(message.html);
  let boundary = `${BOUNDARY_PREFIX}_${(boundaryCounter++).toString(36)}`;
  while (text.content.includes(boundary) || html.content.includes(boundary)) boundary = `${BOUNDARY_PREFIX}_${(boundaryCounter++).toString(36)}`;
  const lines = [
    addressHeader('From', message.from),
    addressHeader('To', message.to),
    headerLine('Subject', message.subject),
    `Date: ${message.date.toUTCString().replace(/GMT$/, '+0000')}`,
    `Message-ID: ${oneLine(message.messageId)}`,
    'MIME-Version: 1.0',
  ];
  for (const [name, value] of Object.entries(message.headers)) {
    if (!FIELD_NAME.test(name)) throw new Error(`invalid header name "${name}"`);
    if (RESERVED.has(name.toLowerCase())) continue;
    lines.push(headerLine(name, value));
  }
  lines.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
  const head = `${lines.join('\r\n')}\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${text.encoding}\r\n\r\n`;
  const middle = `\r\n--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: ${html.encoding}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  // Written straight into one buffer, without first joining a string of the whole message. Only
  // the headers may hold UTF-8 (an address under SMTPUTF8); the bodies, 7bit or quoted-printable,
  // and the part headers are ASCII: one byte per character.
  const headBytes = Buffer.byteLength(head, 'utf8');
  const raw = Buffer.allocUnsafe(headBytes + text.content.length + middle.length + html.content.length + tail.length);
  let at = raw.write(head, 0, 'utf8');
  at += raw.write(text.content, at, 'latin1');
  at += raw.write(middle, at, 'latin1');
  at += raw.write(html.content, at, 'latin1');
  at += raw.write(tail, at, 'latin1');
  if (at !== raw.length) throw new Error(`MIME source is ${at} bytes, expected ${raw.length}`);
  return raw;
}
