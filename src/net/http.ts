/**
 * HTTP/1.x request and response heads, read the way Go's net/http reads them (what Tracee's ProtoHTTP shows):
 * header keys in canonical form (content-type → Content-Type) with their values in order, a request's Host
 * header moved to `host`, Transfer-Encoding dropped, content_length from Content-Length (a request without
 * one has 0, a response -1, a chunked body -1). The head must be in the bytes given: a head cut before its
 * empty line (a bounded capture, a head split over segments) keeps its complete header lines, at most
 * MAX_HEADERS of them, and says `cut`. Pure; never throws.
 */

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Header lines kept from one head; more are dropped and the head is marked cut. */
export const MAX_HEADERS = 64;

/** The prefixes the kernel classifies as HTTP (Tracee's): a response, or a request of these methods. */
export function httpKind(b: Uint8Array): 'request' | 'response' | undefined {
  const s = latin1.decode(b.subarray(0, 7));
  if (s.startsWith('HTTP/')) return 'response';
  if (/^(GET |POST |PUT |DELETE |HEAD )/.test(s)) return 'request';
  return undefined;
}

/** Header keys to values, keys canonical and sorted, as Go's http.Header marshals to JSON. */
export type Headers = Readonly<Record<string, readonly string[]>>;

interface Head {
  readonly headers: Headers;
  readonly contentLength: number;
  readonly cut: boolean;
}

export interface HttpRequest extends Head {
  readonly method: string;
  readonly protocol: string;
  readonly host: string;
  readonly uriPath: string;
}

export interface HttpResponse extends Head {
  readonly status: string;
  readonly statusCode: number;
  readonly protocol: string;
}

export type HttpResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

/** Go's textproto.CanonicalMIMEHeaderKey: a key with a byte outside a token is kept as it is. */
export function canonicalKey(k: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) return k;
  let upper = true;
  let out = '';
  for (const c of k) {
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

/** Go's ParseHTTPVersion: "HTTP/d.d". */
function validProto(p: string): boolean {
  return /^HTTP\/\d\.\d$/.test(p);
}

/** Lines of the head in `b`: the start line, header lines (continuations joined), and whether it ended. */
function headLines(b: Uint8Array): { lines: string[]; ended: boolean } {
  const text = utf8.decode(b);
  const lines: string[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    if (nl < 0) return { lines, ended: false }; // an unfinished last line is not kept
    let line = text.slice(i, nl);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    i = nl + 1;
    if (line === '') return { lines, ended: true };
    // obs-fold: a line starting with a space or tab continues the header before it.
    if (lines.length > 1 && (line.startsWith(' ') || line.startsWith('\t'))) {
      lines[lines.length - 1] = `${lines[lines.length - 1]} ${line.trim()}`;
      continue;
    }
    lines.push(line);
  }
  return { lines, ended: false };
}

/** The header lines as Go's textproto reads them; undefined for a malformed line. */
function parseHeaders(
  lines: readonly string[],
): { headers: Map<string, string[]>; dropped: boolean } | undefined {
  const headers = new Map<string, string[]>();
  let kept = 0;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const rawKey = line.slice(0, colon);
    if (/[ \t]/.test(rawKey)) return undefined;
    if (kept === MAX_HEADERS) return { headers, dropped: true };
    kept++;
    const key = canonicalKey(rawKey);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    const list = headers.get(key);
    if (list === undefined) headers.set(key, [value]);
    else list.push(value);
  }
  return { headers, dropped: false };
}

/**
 * Go's transfer rules for what ReadRequest/ReadResponse show: Transfer-Encoding leaves the headers; chunked
 * means -1 (and Content-Length goes too); else Content-Length, else 0 for a request and -1 for a response
 * (0 for statuses without a body). Undefined for an invalid Content-Length.
 */
function contentLength(headers: Map<string, string[]>, response: number | undefined): number | undefined {
  const te = headers.get('Transfer-Encoding');
  headers.delete('Transfer-Encoding');
  if (te?.join(',').toLowerCase().includes('chunked')) {
    headers.delete('Content-Length');
    return -1;
  }
  if (response !== undefined && ((response >= 100 && response < 200) || response === 204 || response === 304))
    return 0;
  const cl = headers.get('Content-Length');
  if (cl !== undefined) {
    const first = cl[0]!.trim();
    if (!cl.every((v) => v.trim() === first) || !/^\d+$/.test(first)) return undefined;
    headers.set('Content-Length', [first]);
    return Number(first);
  }
  return response === undefined ? 0 : -1;
}

function sortedHeaders(h: Map<string, string[]>): Headers {
  const out: Record<string, readonly string[]> = {};
  for (const k of [...h.keys()].sort()) out[k] = h.get(k)!;
  return out;
}

/** Go's URL unescaping of a path; undefined for a bad %-escape. */
function unescapePath(p: string): string | undefined {
  if (!p.includes('%')) return p;
  const bytes: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '%') {
      const h = p.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(Number.parseInt(h, 16));
      i += 2;
    } else bytes.push(...Buffer.from(p[i]!, 'utf8'));
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}

/** The path and host of a request target: origin form (/a?b), absolute form (http://h/a) or "*". */
function target(uri: string): { path: string; host: string } | undefined {
  if (uri === '*') return { path: '*', host: '' };
  const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(uri);
  if (abs !== null) {
    const host = abs[1]!.replace(/^.*@/, '');
    const path = unescapePath(abs[2]!.replace(/[?#].*$/, ''));
    return path === undefined ? undefined : { path, host };
  }
  if (!uri.startsWith('/')) return undefined;
  const path = unescapePath(uri.replace(/\?.*$/, ''));
  return path === undefined ? undefined : { path, host: '' };
}

/** Reads the request head at the start of `b`. */
export function parseRequest(b: Uint8Array): HttpResult<HttpRequest> {
  const { lines, ended } = headLines(b);
  const start = lines[0];
  if (start === undefined) return { ok: false, error: 'no request line' };
  const sp1 = start.indexOf(' ');
  const sp2 = start.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0) return { ok: false, error: `malformed request line '${start}'` };
  const method = start.slice(0, sp1);
  const uri = start.slice(sp1 + 1, sp2);
  const protocol = start.slice(sp2 + 1);
  if (!validProto(protocol)) return { ok: false, error: `malformed HTTP version '${protocol}'` };
  const t = target(uri);
  if (t === undefined) return { ok: false, error: `malformed request target '${uri}'` };
  const parsed = parseHeaders(lines.slice(1));
  if (parsed === undefined) return { ok: false, error: 'malformed header line' };
  const h = parsed.headers;
  const host = t.host !== '' ? t.host : (h.get('Host')?.[0] ?? '');
  h.delete('Host');
  // Go's fixPragmaCacheControl.
  if (h.get('Pragma')?.[0] === 'no-cache' && !h.has('Cache-Control')) h.set('Cache-Control', ['no-cache']);
  const length = contentLength(h, undefined);
  if (length === undefined) return { ok: false, error: 'bad Content-Length' };
  return {
    ok: true,
    value: {
      method,
      protocol,
      host,
      uriPath: t.path,
      headers: sortedHeaders(h),
      contentLength: length,
      cut: !ended || parsed.dropped,
    },
  };
}

/** Reads the response head at the start of `b`. */
export function parseResponse(b: Uint8Array): HttpResult<HttpResponse> {
  const { lines, ended } = headLines(b);
  const start = lines[0];
  if (start === undefined) return { ok: false, error: 'no status line' };
  const sp = start.indexOf(' ');
  if (sp < 0) return { ok: false, error: `malformed status line '${start}'` };
  const protocol = start.slice(0, sp);
  const status = start.slice(sp + 1).replace(/^ +/, '');
  const code = status.split(' ')[0]!;
  if (!/^\d{3}$/.test(code)) return { ok: false, error: `malformed status code '${code}'` };
  if (!validProto(protocol)) return { ok: false, error: `malformed HTTP version '${protocol}'` };
  const parsed = parseHeaders(lines.slice(1));
  if (parsed === undefined) return { ok: false, error: 'malformed header line' };
  const statusCode = Number(code);
  const length = contentLength(parsed.headers, statusCode);
  if (length === undefined) return { ok: false, error: 'bad Content-Length' };
  return {
    ok: true,
    value: {
      status,
      statusCode,
      protocol,
      headers: sortedHeaders(parsed.headers),
      contentLength: length,
      cut: !ended || parsed.dropped,
    },
  };
}
