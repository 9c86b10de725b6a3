/**
 * Reads an address list as written in a From or To field (RFC 5322 3.4) into mailboxes: display
 * names in quotes (with escapes) or bare, addresses in angle brackets or bare, comments in
 * parentheses (nested; one after a bare address is its name), and groups (`Team: a@x, b@y;`),
 * whose members are returned flat. Lenient the way mail clients are: text that is not a mailbox
 * becomes a name with an empty address, and callers decide what an address must look like.
 */

export interface Mailbox {
  name: string;
  address: string;
}

/** Splits at separators that are outside quotes, comments and angle brackets. */
function splitTopLevel(text: string, separators: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let comment = 0;
  let angle = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      current += c;
      if (c === '\\' && i + 1 < text.length) current += text[++i];
      else if (c === '"') quoted = false;
      continue;
    }
    if (comment > 0) {
      current += c;
      if (c === '\\' && i + 1 < text.length) current += text[++i];
      else if (c === '(') comment += 1;
      else if (c === ')') comment -= 1;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') comment = 1;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (!angle && separators.includes(c)) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}

/** One mailbox's text: `name <address>`, `address (name)`, `address`, or a name alone. */
function parseMailbox(text: string): Mailbox {
  let name = '';
  let address = '';
  let comments = '';
  let quoted = false;
  let comment = 0;
  let angle: string | null = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) name += text[++i];
      else if (c === '"') quoted = false;
      else name += c;
    } else if (comment > 0) {
      if (c === '\\' && i + 1 < text.length) comments += text[++i];
      else if (c === '(') comment += 1;
      else if (c === ')') {
        comment -= 1;
        if (comment === 0) comments += ' ';
      } else comments += c;
    } else if (angle !== null) {
      if (c === '>') {
        address = angle;
        angle = null;
      } else angle += c;
    } else if (c === '"') quoted = true;
    else if (c === '(') comment = 1;
    else if (c === '<') angle = '';
    else name += c;
  }
  name = name.replace(/\s+/g, ' ').trim();
  address = address.trim();
  comments = comments.replace(/\s+/g, ' ').trim();
  if (!address) {
    // No angle brackets: the word with an "@" is the address, the rest (or a comment) the name.
    const words = name.split(' ');
    const at = words.findIndex((w) => w.includes('@'));
    if (at >= 0) {
      address = words[at]!;
      words.splice(at, 1);
      name = words.join(' ');
    }
  }
  return { name: name || comments, address };
}

/** The mailboxes of an address list, groups flattened, empty entries dropped. */
export function parseAddressList(field: string): Mailbox[] {
  const mailboxes: Mailbox[] = [];
  for (const entry of splitTopLevel(field, ',;')) {
    // A group's display name ends at its colon: `Team: a@x` leaves `a@x`.
    const group = splitTopLevel(entry, ':');
    const text = group.length > 1 ? group.slice(1).join(':') : entry;
    if (text.trim() === '') continue;
    mailboxes.push(parseMailbox(text));
  }
  return mailboxes;
}
