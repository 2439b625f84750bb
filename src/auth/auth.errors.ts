import { DomainError } from '../domain/errors.js';

/** Credentials or tokens that do not prove who the caller is (HTTP 401). */
export class AuthenticationError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A unique value already in use (HTTP 409). */
export class ConflictError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The caller is known but not allowed (HTTP 403). */
export class ForbiddenError extends DomainError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
