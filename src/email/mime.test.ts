import { describe, expect, it } from 'vitest';
import { buildMimeMessage, envelopeOf, type MimeMessage } from './mime.js';

const base: MimeMessage = {
  from: 'Acme <news@acme.test>',
  to: 'Ada Lovelace <ada@example.com>',
  subject: 'Our spring offer',
  html: '<html><body><p>Hello Ada</p></body></html>',
  text: 'Hello Ada',
  headers: {},
  messageId: '<abc@acme.test>',
  date: new Date('2026-11-25T10:00:00Z'),
};

/** Header block (unfolded) and the parts of a multipart/alternative source. */
function parse(raw: string): { headers: Map<string, string>; parts: Array<{ headers: Map<string, string>; body: string }> } {
  const headerBlock = (block: string) => {
    const map = new Map<string, string>();
    for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
      const colon = line.indexOf(':');
      map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    return map;
  };
  const split = raw.indexOf('\r\n\r\n');
  const headers = headerBlock(raw.slice(0, split));
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type')!)![1]!;
  const sections = raw.slice(split + 4).split(`--${boundary}`);
  expect(sections.at(-1)).toBe('--\r\n');
  const parts = sections.slice(1, -1).map((section) => {
    const inner = section.replace(/^\r\n/, '').replace(/\r\n$/, '');
    const at = inner.indexOf('\r\n\r\n');
    return { headers: headerBlock(inner.slice(0, at)), body: inner.slice(at + 4) };
  });
  return { headers, parts };
}

function decodeQuotedPrintable(body: string): string {
  const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => `%${hex}`);
  return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/g, '%25'));
}

function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?Q\?([^?]*)\?=/gi, (_m, q: string) => decodeURIComponent(q.replace(/_/g, ' ').replace(/%/g, '%25').replace(/=([0-9A-F]{2})/g, '%$1')));
}

describe('buildMimeMessage', () => {
  it('writes the headers and a multipart/alternative body with the text part first, CRLF throughout', () => {
    const raw = buildMimeMessage({ ...base, headers: { 'List-Unsubscribe': '<https://app.example.com/u/x>', 'X-Campaign': 'spring' } }).toString('utf8');
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const { headers, parts } = parse(raw);
    expect(headers.get('from')).toBe('Acme <news@acme.test>');
    expect(headers.get('to')).toBe('Ada Lovelace <ada@example.com>');
    expect(headers.get('subject')).toBe('Our spring offer');
    expect(headers.get('date')).toBe('Wed, 25 Nov 2026 10:00:00 +0000');
    expect(headers.get('message-id')).toBe('<abc@acme.test>');
    expect(headers.get('mime-version')).toBe('1.0');
    expect(headers.get('list-unsubscribe')).toBe('<https://app.example.com/u/x>');
    expect(headers.get('x-campaign')).toBe('spring');
    expect(parts.map((p) => p.headers.get('content-type'))).toEqual(['text/plain; charset=utf-8', 'text/html; charset=utf-8']);
    expect(parts.map((p) => p.headers.get('content-transfer-encoding'))).toEqual(['7bit', '7bit']);
    expect(parts.map((p) => p.body)).toEqual(['Hello Ada', '<html><body><p>Hello Ada</p></body></html>']);
  });

  it('encodes non-ASCII subjects, display names and bodies, and normalizes line ends', () => {
    const raw = buildMimeMessage({ ...base, from: 'Café Müller <news@acme.test>', to: '"Lovelace, Ada" <ada@example.com>', subject: 'Grüße, Ada — 50 % off', text: 'Grüße\nline two\r\nline three', html: '<p>Grüße</p>' }).toString('utf8');
    expect([...raw].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    const { headers, parts } = parse(raw);
    expect(decodeEncodedWords(headers.get('subject')!)).toBe('Grüße, Ada — 50 % off');
    expect(decodeEncodedWords(headers.get('from')!)).toBe('Café Müller <news@acme.test>');
    expect(headers.get('to')).toBe('"Lovelace, Ada" <ada@example.com>');
    expect(parts[0]!.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(decodeQuotedPrintable(parts[0]!.body)).toBe('Grüße\r\nline two\r\nline three');
    expect(decodeQuotedPrintable(parts[1]!.body)).toBe('<p>Grüße</p>');
  });

  it('quoted-printable encodes a body with a line longer than 998 characters', () => {
    const long = `<p>${'x'.repeat(1200)}</p>`;
    const { parts } = parse(buildMimeMessage({ ...base, html: long }).toString('utf8'));
    expect(parts[1]!.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(parts[1]!.body.split('\r\n').every((line) => line.length <= 76)).toBe(true);
    expect(decodeQuotedPrintable(parts[1]!.body)).toBe(long);
  });

  it('never lets a header value start a new header line', () => {
    const raw = buildMimeMessage({ ...base, subject: 'Hi\r\nBcc: victim@example.com', headers: { 'X-Note': 'a\nX-Injected: 1' } }).toString('utf8');
    const { headers } = parse(raw);
    expect(headers.has('bcc')).toBe(false);
    expect(headers.has('x-injected')).toBe(false);
    expect(headers.get('subject')).toBe('Hi Bcc: victim@example.com');
  });

  it('refuses a header name that is not a field name and does not duplicate its own headers', () => {
    expect(() => buildMimeMessage({ ...base, headers: { 'Bad Name': 'x' } })).toThrow(/invalid header name/);
    const raw = buildMimeMessage({ ...base, headers: { Subject: 'other', 'Content-Type': 'text/plain' } }).toString('utf8');
    const headerBlock = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(headerBlock.match(/^Subject:/gim)).toHaveLength(1);
    expect(headerBlock.match(/^Content-Type:/gim)).toHaveLength(1);
  });

  it('writes UTF-8 in an address header byte for byte, with the parts intact after it', () => {
    const buffer = buildMimeMessage({ ...base, to: 'josé@exämple.com', text: 'Hi\nthere', html: '<p>Hi</p>\r\n' });
    const raw = buffer.toString('utf8');
    expect(Buffer.byteLength(raw, 'utf8')).toBe(buffer.length);
    const { headers, parts } = parse(raw);
    expect(headers.get('to')).toBe('josé@exämple.com');
    expect(parts.map((p) => p.body)).toEqual(['Hi\r\nthere', '<p>Hi</p>\r\n']);
  });

  it("gives each message its own From and To when fields repeat or differ (parsed fields are shared)", () => {
    const header = (from: string, to: string) => parse(buildMimeMessage({ ...base, from, to }).toString('utf8')).headers;
    expect(header('Acme <news@acme.test>', 'ada@example.com').get('from')).toBe('Acme <news@acme.test>');
    expect(header('Beta <news@beta.test>', 'ada@example.com').get('from')).toBe('Beta <news@beta.test>');
    expect(header('Acme <news@acme.test>', 'Bob <bob@example.com>').get('to')).toBe('Bob <bob@example.com>');
    const first = envelopeOf('Acme <news@acme.test>', 'Team: ada@example.com, bob@example.com;');
    first.to.push('mallory@example.com');
    expect(envelopeOf('Acme <news@acme.test>', 'Team: ada@example.com, bob@example.com;')).toEqual({ from: 'news@acme.test', to: ['ada@example.com', 'bob@example.com'] });
    expect(envelopeOf('Beta <news@beta.test>', 'ada@example.com (Ada)')).toEqual({ from: 'news@beta.test', to: ['ada@example.com'] });
    expect(header('Acme <news@acme.test>', 'ada@example.com (Ada)').get('to')).toBe('Ada <ada@example.com>');
    expect(envelopeOf('news@acme.test', 'ada@example.com,bob@example.com').to).toEqual(['ada@example.com', 'bob@example.com']);
  });

  it('uses a different boundary per message, never one that occurs in the content', () => {
    const a = parse(buildMimeMessage(base).toString('utf8')).headers.get('content-type');
    const b = parse(buildMimeMessage(base).toString('utf8')).headers.get('content-type');
    expect(a).not.toBe(b);
  });
});

describe('envelopeOf', () => {
  it('takes the bare addresses of From and To', () => {
    expect(envelopeOf('Acme <news@acme.test>', '"Lovelace, Ada" <ada@example.com>')).toEqual({ from: 'news@acme.test', to: ['ada@example.com'] });
    expect(envelopeOf('news@acme.test', 'ada@example.com')).toEqual({ from: 'news@acme.test', to: ['ada@example.com'] });
  });

  it('refuses a field without an address', () => {
    expect(() => envelopeOf('Acme', 'ada@example.com')).toThrow(/no sender/);
    expect(() => envelopeOf('news@acme.test', '')).toThrow(/no recipient/);
  });
});
