import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AuthenticationError } from '../../auth/auth.errors.js';
import { AuthService, type AccessClaims } from '../../auth/auth.service.js';
import { UsersRepository, type Role } from '../../auth/users.repository.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../../config.js';
import type { Caller } from '../caller.js';
import type { RequestIds } from '../request-id.middleware.js';

/**
 * Verifies the bearer access token (HS256, not expired, not revoked) and makes its claims the caller, with
 * the role the account has now: a role change holds from the next request on, not from the next token.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(CHRONOS_CONFIG) config: ChronosConfig,
    private readonly auth: AuthService,
    private readonly users: UsersRepository,
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
    const [revoked, role] = await Promise.all([this.auth.isRevoked(claims), this.currentRole(claims)]);
    if (revoked) throw new AuthenticationError('TOKEN_REVOKED', 'the access token was revoked (logged out)');
    if (!role) throw new AuthenticationError('UNAUTHENTICATED', 'the account no longer exists');
    return { id: claims.sub, role, correlationId: (request as Request & Partial<RequestIds>).correlationId ?? '', claims };
  }

  /** The account's role now; the token's while PostgreSQL cannot answer (the request needs it anyway, or fails on its own). */
  private async currentRole(claims: AccessClaims): Promise<Role | null> {
    try {
      return (await this.users.findById(claims.sub))?.role ?? null;
    } catch {
      return claims.role;
    }
  }
}
