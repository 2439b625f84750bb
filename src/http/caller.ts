import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { AccessClaims } from '../auth/auth.service.js';

/** Who is asking: set by the AccessGuard from the verified access token. */
export interface Caller {
  id: string;
  role: 'admin' | 'user';
  /** The correlation id of the commands this request issues (see RequestIdMiddleware). */
  correlationId: string;
  claims?: AccessClaims;
}

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const request = context.switchToHttp().getRequest<Request & { caller?: Caller }>();
  return request.caller!;
});
