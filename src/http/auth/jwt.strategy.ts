import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AuthenticationError } from '../../auth/auth.errors.js';
import { AuthService, type AccessClaims } from '../../auth/auth.service.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../../config.js';
import type { Caller } from '../caller.js';
import type { RequestIds } from '../request-id.middleware.js';

/** Verifies the bearer access token (HS256, not expired, not revoked) and makes its claims the caller. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(CHRONOS_CONFIG) config: ChronosConfig,
    private readonly auth: AuthService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: config.auth.jwtSecret,
      algorithms: ['HS256'],
      passReqToCallback: true,
    });
  }

  async validate(request: Request, claims: AccessClaims): Promise<Caller & { claims: AccessClaims }> {
    if (!claims.sub || !claims.jti || !claims.sid || (claims.role !== 'admin' && claims.role !== 'user')) {
      throw new AuthenticationError('INVALID_TOKEN', 'the access token is malformed');
    }
    if (await this.auth.isRevoked(claims)) throw new AuthenticationError('TOKEN_REVOKED', 'the access token was revoked (logged out)');
    return { id: claims.sub, role: claims.role, correlationId: (request as Request & Partial<RequestIds>).correlationId ?? '', claims };
  }
}
