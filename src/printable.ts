/**
 * C0 and C1 control characters, DEL, and the Unicode controls that reorder text on screen.
 * In text from the other side they could draw fake lines on an operator's terminal (ESC
 * sequences, CR) or disguise what a line says (bidi overrides).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

export const REMOTE_TEXT_CHARS = 200

/**
 * Text fit for a terminal line: every run of control characters becomes one "?", and text
 * longer than `maxChars` is cut with "…". Only the head of a huge input is ever examined.
 */
export function printable(text: string, maxChars = REMOTE_TEXT_CHARS): string {
  const cut = text.length > maxChars
  let head = cut ? text.slice(0, maxChars) : text
  // A cut through a surrogate pair would leave half a character.
  if (cut && /[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1)
  const clean = head.replace(CONTROL, '?').replace(LONE_SURROGATE, '\uFFFD')
  return cut ? `${clean}…` : clean
}

/** Strips control characters from a whole line of our own making, which may embed remote text. */
export function printableLine(line: string): string {
  return line.replace(CONTROL, '?')
}
