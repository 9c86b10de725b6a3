/**
 * The MIME encodings an outgoing message needs, written for mime.ts: quoted-printable bodies
 * (RFC 2045 6.7), RFC 2047 encoded-words for non-ASCII header text, quoted display names and
 * header folding (RFC 5322 2.2.3). Our own, small and tested (mime-encoding.test.ts), rather than
 * nodemailer's internal modules.
 */

/** How each byte is written in quoted-printable: itself when printable (not "="), else =XX. */
const QP_BYTE: string[] = Array.from({ length: 256 }, (_, b) => (b >= 33 && b <= 126 && b !== 61 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`));

/** Longest encoded line before the soft break's "=" (76 with it). */
const QP_LINE = 75;

/**
 * Quoted-printable of `text` (line ends already CRLF, which stay hard line breaks): UTF-8 bytes,
 * spaces and tabs literal except at the end of a line, lines soft-broken ("=" CRLF) at 76
 * characters without splitting an =XX escape.
 */
export function encodeQuotedPrintable(text: string): string {
  const lines = text.split('\r\n');
  let out = '';
  for (let l = 0; l < lines.length; l += 1) {
    if (l > 0) out += '\r\n';
    const bytes = Buffer.from(lines[l]!, 'utf8');
    let current = '';
    for (let i = 0; i < bytes.length; i += 1) {
      const b = bytes[i]!;
      // A space or tab is literal unless it would end the line (where transports may strip it).
      const token = (b === 32 || b === 9) && i < bytes.length - 1 ? String.fromCharCode(b) : QP_BYTE[b]!;
      if (current.length + token.length > QP_LINE) {
        out += `${current}=\r\n`;
        current = '';
      }
      current += token;
    }
    out += current;
  }
  return out;
}

/** Characters an encoded-word's Q encoding may leave as they are, even inside a phrase (RFC 2047 5(3)). */
const Q_SAFE = /[A-Za-z0-9!*+\-/]/;

/** Payload characters per encoded-word, so each is at most 52 long with its `=?UTF-8?Q?…?=`. */
const Q_WORD_PAYLOAD = 40;

/**
 * `value` as RFC 2047 encoded-words (UTF-8, Q encoding), separated by spaces so that the header
 * can be folded between them; a character's bytes never straddle two words.
 */
export function encodeWords(value: string): string {
  const words: string[] = [];
  let current = '';
  for (const char of value) {
    let piece: string;
    if (char === ' ') piece = '_';
    else if (Q_SAFE.test(char)) piece = char;
    else piece = [...Buffer.from(char, 'utf8')].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (current.length + piece.length > Q_WORD_PAYLOAD && current !== '') {
      words.push(current);
      current = '';
    }
    current += piece;
  }
  if (current !== '') words.push(current);
  return words.map((w) => `=?UTF-8?Q?${w}?=`).join(' ');
}

/** A quoted-string (RFC 5322 3.2.4): backslashes and quotes escaped. */
export function quoteString(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * Folds a header line (`Name: value`, no CR or LF in it) at spaces so that lines stay within
 * `width` characters where a space allows; a continuation line starts with the space it broke at.
 */
export function foldHeader(line: string, width = 76): string {
  if (line.length <= width) return line;
  const pieces = line.split(' ');
  let out = '';
  let current = pieces[0]!;
  for (const piece of pieces.slice(1)) {
    // Never fold at an empty piece: a continuation line must not be white space only.
    if (piece !== '' && current.trim() !== '' && current.length + 1 + piece.length > width) {
      out += `${current}\r\n`;
      current = ` ${piece}`;
    } else {
      current += ` ${piece}`;
    }
  }
  return out + current;
}
