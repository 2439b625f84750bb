/**
 * Everything the CLI writes goes through here. What it shows comes mostly from the server, and so from other
 * users: a job's name, an error, a target's answer, a script's output. Such text may hold characters a
 * terminal obeys instead of showing: ESC and CSI sequences (erase the screen, move the cursor), OSC (set the
 * title; OSC 52 writes the clipboard), BEL, a carriage return that overwrites the line, bidi controls that
 * reorder what is read. Each is written as a visible escape in JSON's notation (`\u001b`), so a line says
 * what the data holds, and JSON output stays valid and means the same.
 *
 * Two levels: whatever is written keeps only line feeds and tabs (`print`, `printError`); a value placed
 * inside a line (`inline`) keeps neither, so it cannot forge lines of its own.
 */

/** C0 controls but line feed and tab, DEL, C1 controls, and the bidi controls and line separators of Unicode. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_AND_LINE_BREAKS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

const escape = (character: string) => NAMED[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with every control character but line feed and tab escaped. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROLS, escape);
}

/** A value to place inside a line: every control character escaped, line breaks and tabs included. */
export function inline(value: unknown): string {
  return String(value ?? '').replace(CONTROLS_AND_LINE_BREAKS, escape);
}

/** One or more lines on stdout. */
export function print(text: string): void {
  process.stdout.write(`${terminalSafe(text)}\n`);
}

/** One or more lines on stderr. */
export function printError(text: string): void {
  process.stderr.write(`${terminalSafe(text)}\n`);
}

/** A value as indented JSON on stdout: C0 controls are JSON's own escapes, the others escaped the same way. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** Redraws the current line of a terminal in place (a progress bar): the only control sequences the CLI writes. */
export function redrawLine(out: NodeJS.WriteStream, text: string): void {
  out.write(`\r${inline(text)}\x1b[K`);
}
