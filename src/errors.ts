/**
 * ktrail's error family. Every failure a person can meet is a KtrailError with a stable `code`, a message of
 * the form "doing what: cause" and, where there is one, a `hint` saying what to do next. The CLI prints
 * message and hint, never a stack trace.
 */
export type ErrorCode =
  | 'USAGE'
  | 'UNKNOWN_EVENT'
  | 'BAD_FILTER'
  | 'POLICY_INVALID'
  | 'NOT_ROOT'
  | 'CAPABILITY_MISSING'
  | 'KERNEL_FEATURE_MISSING'
  | 'BPF_LOAD_FAILED'
  | 'BPF_VERIFIER_REJECTED'
  | 'BPF_ATTACH_FAILED'
  | 'NATIVE_MISSING'
  | 'ABI_MISMATCH'
  | 'LIBBPF'
  | 'IO'
  | 'INPUT_FILE'
  | 'DECODE';

export class KtrailError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** The process exit status the CLI uses for this error: 2 for bad input, 1 for everything else. */
  readonly exitCode: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KtrailError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (isInputError(code) ? 2 : 1);
  }
}

/**
 * Codes for input the user gave: a flag, a policy, or a file named on the command line that cannot be used as
 * it is (INPUT_FILE: missing, a directory, unreadable, too large, not UTF-8, empty). `IO` stays for failures of
 * ktrail's own reads and writes, which the user did not choose.
 */
function isInputError(code: ErrorCode): boolean {
  return (
    code === 'USAGE' ||
    code === 'UNKNOWN_EVENT' ||
    code === 'BAD_FILTER' ||
    code === 'POLICY_INVALID' ||
    code === 'INPUT_FILE'
  );
}

/** Raised by the native addon (injected at load): a libbpf or system call failed. */
export class NativeError extends KtrailError {
  /** errno name (`EPERM`) when the failure carried one. */
  readonly errno: string | undefined;
  constructor(code: ErrorCode, message: string, errno?: string, hint?: string) {
    super(code, message, hint === undefined ? {} : { hint });
    this.name = 'NativeError';
    this.errno = errno;
  }
}
