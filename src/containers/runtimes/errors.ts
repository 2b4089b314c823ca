import type { RuntimeName } from './types.js';

/**
 * Why a runtime call or socket failed:
 *   SOCKET_MISSING  a socket given by name does not exist
 *   NOT_A_SOCKET    the path exists but is not a unix socket
 *   BAD_ID          the id asked for is not 64 lowercase hex digits
 *   TIMEOUT         the call passed its deadline
 *   ABORTED         the caller's AbortSignal fired
 *   CLOSED          the client was closed
 *   TRANSPORT       connecting, sending or receiving failed (refused, reset, permission denied, ...)
 *   TOO_LARGE       the response exceeded the size cap
 *   PROTOCOL        the runtime answered something else than its API promises (status, JSON, field types)
 */
export type RuntimeErrorCode =
  | 'SOCKET_MISSING'
  | 'NOT_A_SOCKET'
  | 'BAD_ID'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CLOSED'
  | 'TRANSPORT'
  | 'TOO_LARGE'
  | 'PROTOCOL';

/**
 * A failed runtime call or an unusable socket. The message reads "RUNTIME (SOCKET): REQUEST: cause", e.g.
 * `docker (/var/run/docker.sock): GET /containers/ID/json: timed out after 2000 ms`; `hint`, when set, says
 * what to do.
 */
export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  readonly runtime: RuntimeName | undefined;
  readonly socket: string | undefined;
  readonly hint: string | undefined;

  constructor(
    code: RuntimeErrorCode,
    message: string,
    options: { runtime?: RuntimeName; socket?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.runtime = options.runtime;
    this.socket = options.socket;
    this.hint = options.hint;
  }
}

/** The reason a call's own deadline aborts its signal with (as opposed to the caller's reason). */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/** A protocol or size violation found in a response (the caller wraps it into a RuntimeError). */
export class ResponseError extends Error {
  constructor(
    readonly code: 'PROTOCOL' | 'TOO_LARGE',
    message: string,
  ) {
    super(message);
    this.name = 'ResponseError';
  }
}
