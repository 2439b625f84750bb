import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { AuthenticationError, ForbiddenError } from '../../auth/auth.errors.js';
import type { Caller } from '../caller.js';
import { ADMIN_ONLY, IS_PUBLIC } from './public.decorator.js';

/**
 * Every route needs a valid access token unless it is @Public; @AdminOnly routes need the admin role.
 * The verified caller becomes `request.caller` for controllers and the rate limiter.
 */
@Injectable()
export class AccessGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (context.getType() !== 'http' || this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    await super.canActivate(context);
    const request = context.switchToHttp().getRequest<Request & { user?: Caller; caller?: Caller }>();
    request.caller = request.user;
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) && request.caller?.role !== 'admin') {
      throw new ForbiddenError('ADMIN_ONLY', 'this route is for admins');
    }
    return true;
  }

  override handleRequest<TUser>(error: unknown, user: TUser, info: unknown): TUser {
    if (error) throw error;
    if (!user) {
      const reason = info instanceof Error ? info.name : '';
      throw reason === 'TokenExpiredError'
        ? new AuthenticationError('TOKEN_EXPIRED', 'the access token has expired: refresh it')
        : new AuthenticationError('UNAUTHENTICATED', 'a valid bearer access token is required');
    }
    return user;
  }
}
