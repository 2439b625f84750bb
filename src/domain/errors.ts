/**
 * Typed domain errors. Each carries a stable `code` for the API; the HTTP layer maps the class to a
 * status in one place (src/http/problem-details.filter.ts).
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly errors?: { field: string; message: string }[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input is well-formed but not acceptable (HTTP 422). */
export class ValidationError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
    errors?: { field: string; message: string }[],
  ) {
    super(message, errors);
  }
}

/** The aggregate does not exist, or is not visible to the caller (HTTP 404). */
export class NotFoundError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The command does not apply to the aggregate's current state (HTTP 409). */
export class IllegalStateError extends DomainError {
  readonly code = 'INVALID_STATE';
}

/** The caller's expected version is not the current one, or appends kept conflicting (HTTP 412 / 409). */
export class ConcurrencyError extends DomainError {
  readonly code = 'VERSION_CONFLICT';
  constructor(
    message: string,
    readonly precondition: boolean,
  ) {
    super(message);
  }
}

/** What was asked for is older than the history kept (HTTP 410): retention closed it into an epoch and purged it. */
export class HistoryCompactedError extends DomainError {
  readonly code = 'HISTORY_COMPACTED';
}
