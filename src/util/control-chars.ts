/**
 * Control characters in text that came from the traced processes or from a file ktrail reads (a path, a comm, a
 * malformed line): printed raw, a newline would forge a row of a table or a line of a log, and an escape
 * sequence would drive the reader's terminal. Pure.
 */

// C0 controls, DEL and the C1 controls (a terminal may read U+009B as CSI).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `s` with every control character written as an escape (`\n`, `\r`, `\t`, `\x1b`, `\u009b`). */
export function escapeControls(s: string): string {
  if (!CONTROL.test(s)) return s;
  return s.replace(CONTROLS, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
