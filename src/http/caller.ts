import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Who is asking. Until authentication lands every request runs as the one local owner. */
export interface Caller {
  id: string;
  role: 'admin' | 'user';
  requestId: string;
}

export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const request = context.switchToHttp().getRequest<Request & { caller?: Caller }>();
  return request.caller!;
});
