import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { accessTokenKey } from '../../auth/access-token-key.js';
import { AuthenticationError } from '../../auth/auth.errors.js';
import type { AccessClaims } from '../../auth/auth.service.js';
import { SessionCache } from '../../auth/session-cache.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../../config.js';
import type { Caller } from '../caller.js';
import type { RequestIds } from '../request-id.middleware.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/**
 * Verifies the bearer access token (HS256, not expired) and that it means what it says: `sub` is the user
 * of `sid`, a session that is live now. The caller's role is that user's current role, not the token's claim.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(CHRONOS_CONFIG) config: ChronosConfig,
    private readonly sessions: SessionCache,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // The typings know strings and Buffers; jsonwebtoken takes the KeyObject and checks it suits HS256.
      secretOrKey: accessTokenKey(config.auth.jwtSecret) as unknown as Buffer,
      algorithms: ['HS256'],
      passReqToCallback: true,
    });
  }

  async validate(request: Request, claims: AccessClaims): Promise<Caller & { claims: AccessClaims }> {
    if (!isUuid(claims.sub) || !isUuid(claims.sid) || typeof claims.jti !== 'string' || !claims.jti || !Number.isInteger(claims.exp)) {
      throw new AuthenticationError('INVALID_TOKEN', 'the access token is malformed');
    }
    const session = await this.sessions.lookup(claims.sid);
    if (session?.userId !== claims.sub.toLowerCase()) {
      throw new AuthenticationError('TOKEN_REVOKED', "the access token's session has ended (logged out or revoked): sign in again");
    }
    return { id: session.userId, role: session.role, correlationId: (request as Request & Partial<RequestIds>).correlationId ?? '', claims };
  }
}
