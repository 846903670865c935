/**
 * Every failure the TS layer reports to a person carries one of these codes, so the
 * CLI can print a one-line message and callers can branch on `code` without parsing text.
 */
export const CfErrorCode = {
  CONFIG: 'ERR_CF_CONFIG',
  IO: 'ERR_CF_IO',
  INVALID_ARG: 'ERR_CF_INVALID_ARG',
  DATA: 'ERR_CF_DATA',
  SPLIT: 'ERR_CF_SPLIT',
  NUMERIC: 'ERR_CF_NUMERIC',
  NOT_FITTED: 'ERR_CF_NOT_FITTED',
  CANCELLED: 'ERR_CF_CANCELLED',
  /** A graceful stop (Ctrl-C, FitOptions.stop) after a checkpoint was saved: resumable. */
  INTERRUPTED: 'ERR_CF_INTERRUPTED',
  UNSUPPORTED: 'ERR_CF_UNSUPPORTED',
  NATIVE: 'ERR_CF_NATIVE',
} as const;

export type CfErrorCode = (typeof CfErrorCode)[keyof typeof CfErrorCode];

export class CfError extends Error {
  // A plain string rather than the union: codes forwarded from the native core may be newer than this list.
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

// On the prototype, not as a field: the stack header is built inside super(), before fields exist.
CfError.prototype.name = 'CfError';

/** True for a CfError, and when `code` is given, only for that code. */
export function isCfError(value: unknown, code?: string): value is CfError {
  return value instanceof CfError && (code === undefined || value.code === code);
}
