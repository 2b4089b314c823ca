/**
 * `--server` values (Tracee v0.24/main grammar, COMPAT.md 7) and the legacy `--metrics`, `--healthz` and
 * `--http-listen-addr` flags, turned into one plan: where the HTTP server listens and which endpoints it
 * serves. Pure. Everything ktrail cannot serve (gRPC, pprof, pyroscope) is refused, never ignored.
 */
import { isIP } from 'node:net';
import { KtrailError } from '../errors.js';

/** Tracee's port, on loopback as Tracee main does (v0.24 said `localhost`, v0.23's legacy flag `:3366`). */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
export const DEFAULT_HTTP_PORT = 3366;

export interface ServerPlan {
  /** Address to bind: an IPv4 or IPv6 literal, a host name, or '' for every address. */
  readonly host: string;
  readonly port: number;
  readonly metrics: boolean;
  readonly healthz: boolean;
}

export interface ServerFlags {
  /** `--server` values. */
  readonly server?: readonly string[];
  /** `--metrics`, `--healthz` (Tracee v0.23). */
  readonly metrics?: boolean;
  readonly healthz?: boolean;
  /** `--http-listen-addr` (Tracee v0.23; its default was `:3366`). */
  readonly httpListenAddr?: string;
}

const HINT = 'e.g. --server http-address=127.0.0.1:3366 --server metrics --server healthz';

function bad(flag: string, value: string, why: string, hint = HINT): KtrailError {
  return new KtrailError('USAGE', `${flag} '${value}': ${why}`, { hint });
}

/** Splits `HOST:PORT`, `[V6]:PORT` or `:PORT`; the port must be 1-65535. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(value);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw bad(flag, value, `'${host}' is not an IPv6 address`);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw bad(flag, value, 'no port', 'write HOST:PORT, e.g. 127.0.0.1:3366 or [::1]:3366');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':'))
      throw bad(flag, value, 'an IPv6 address needs brackets', 'write [::1]:3366, e.g.');
    if (host !== '' && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host))
      throw bad(flag, value, `'${host}' is not a host name or address`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
    throw bad(flag, value, `port '${portText}' is not a number from 1 to 65535`);
  return { host, port };
}

/** The server plan, or undefined when no flag asks for a server (then nothing listens). */
export function planServer(f: ServerFlags): ServerPlan | undefined {
  let address: { host: string; port: number } | undefined;
  let metrics = f.metrics === true;
  let healthz = f.healthz === true;
  if (f.httpListenAddr !== undefined) address = parseHostPort('--http-listen-addr', f.httpListenAddr);
  for (const value of f.server ?? []) {
    for (const part of value.split(',')) {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      const arg = eq < 0 ? undefined : part.slice(eq + 1);
      switch (key) {
        case 'http-address':
          if (arg === undefined || arg === '') throw bad('--server', part, 'no address');
          address = parseHostPort('--server', arg);
          break;
        case 'metrics':
        case 'healthz':
          if (arg !== undefined && arg !== 'true' && arg !== 'false')
            throw bad('--server', part, `'${key}' takes no value`);
          if (key === 'metrics') metrics = arg !== 'false';
          else healthz = arg !== 'false';
          break;
        case 'grpc':
        case 'grpc-address':
          throw bad(
            '--server',
            part,
            'ktrail has no gRPC server',
            'use --server metrics and --server healthz',
          );
        case 'pprof':
        case 'pyroscope':
          throw bad(
            '--server',
            part,
            `'${key}' is not supported by ktrail`,
            'profile with node --cpu-prof instead; --server serves metrics and healthz',
          );
        default:
          throw bad('--server', part, `unknown setting '${key}'`);
      }
    }
  }
  if (!metrics && !healthz) {
    if (address === undefined) return undefined;
    const viaServer = (f.server ?? []).length > 0;
    throw bad(
      viaServer ? '--server' : '--http-listen-addr',
      viaServer ? f.server!.join(' ') : f.httpListenAddr!,
      'an HTTP address but no endpoint to serve',
      'add --server metrics and/or --server healthz',
    );
  }
  return {
    host: address?.host ?? DEFAULT_HTTP_HOST,
    port: address?.port ?? DEFAULT_HTTP_PORT,
    metrics,
    healthz,
  };
}
