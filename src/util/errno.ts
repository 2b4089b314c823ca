/** Words for a failed system call, for messages a person reads. Pure. */

/**
 * `no space left on device (ENOSPC)` from a Node.js system error (`ENOSPC: no space left on device, write`);
 * the message as it is for anything else.
 */
export function errnoWords(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (typeof code !== 'string') return msg;
  const words = msg.startsWith(`${code}: `) ? msg.slice(code.length + 2) : msg;
  return `${words.replace(/, (write|read|open)\b.*$/, '')} (${code})`;
}
