// Typed errors shared by every layer. Each message should tell the user what went wrong and where
// (which blob, entry, range or registry), so it can be acted on without a stack trace.

export class CrfsError extends Error {
  /** Stable machine-readable code, e.g. for the CLI's JSON output and FUSE errno mapping. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The blob, footer or TOC is not valid stargz/eStargz, or is hostile. */
export class FormatError extends CrfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EFORMAT', message, options);
  }
}

/** Content did not match its digest: never serve those bytes. */
export class VerificationError extends CrfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVERIFY', message, options);
  }
}

/** A path, reference, manifest or blob does not exist. */
export class NotFoundError extends CrfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENOENT', message, options);
  }
}

/** The registry refused our credentials or we have none. */
export class AuthError extends CrfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EAUTH', message, options);
  }
}

/** The registry misbehaved: bad status, wrong length, reset, timeout. */
export class RegistryError extends CrfsError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super('EREGISTRY', message, options);
    this.status = options?.status;
  }
}

/** The user asked for something malformed (reference, option, argument). */
export class UsageError extends CrfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EUSAGE', message, options);
  }
}
