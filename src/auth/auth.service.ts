import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { REDIS } from '../infra/redis.js';
import { AuthenticationError, ConflictError } from './auth.errors.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { UsersRepository, type Role, type User } from './users.repository.js';

export interface AccessClaims {
  sub: string;
  role: Role;
  jti: string;
  /** The session the token belongs to: logout and refresh-token reuse revoke it. */
  sid: string;
  exp: number;
}

export interface TokenPair {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const revokedTokenKey = (jti: string) => `chronos:revoked:token:${jti}`;
const revokedSessionKey = (sid: string) => `chronos:revoked:session:${sid}`;

/**
 * Sign-up, sign-in and tokens. Access tokens are short-lived JWTs; refresh tokens are opaque, stored
 * hashed, rotated on every use, and a spent one presented again revokes its whole session (it was stolen,
 * or the legitimate client was). Logout blacklists the access token's `jti` in Redis until it expires and
 * revokes the session in PostgreSQL, which also answers when Redis cannot.
 */
@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly log = new Logger(AuthService.name);

  constructor(
    private readonly users: UsersRepository,
    private readonly jwt: JwtService,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {}

  /** The admin of CHRONOS_ADMIN_EMAIL is created if missing, promoted if it exists (its password is kept). */
  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.auth.admin;
    if (!admin) return;
    const created = await this.users.create(admin.email, 'Administrator', 'admin', await hashPassword(admin.password));
    if (!created) {
      const existing = await this.users.findCredentials(admin.email);
      if (existing && existing.role !== 'admin') await this.users.setRole(existing.id, 'admin');
    }
    this.log.log({ msg: created ? 'admin account created' : 'admin account present', email: admin.email });
  }

  async register(email: string, password: string, name: string | undefined): Promise<TokenPair> {
    const user = await this.users.create(email.toLowerCase(), name ?? null, 'user', await hashPassword(password));
    if (!user) throw new ConflictError('EMAIL_TAKEN', 'an account with this email exists');
    return this.startSession(user);
  }

  async login(email: string, password: string): Promise<TokenPair> {
    const account = await this.users.findCredentials(email.toLowerCase());
    const valid = await verifyPassword(account?.passwordHash ?? (await decoyHash()), password);
    if (!account || !valid) throw new AuthenticationError('INVALID_CREDENTIALS', 'email or password is wrong');
    const { passwordHash: _secret, ...user } = account;
    return this.startSession(user);
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const outcome = await this.dataSource.transaction(async (db) => {
      const rows = await db.query(
        `SELECT t.spent_at AS "spentAt", s.id AS "sessionId", s.user_id AS "userId", s.revoked_at AS "revokedAt",
                s.expires_at AS "expiresAt"
         FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
         WHERE t.token_hash = $1 FOR UPDATE OF t, s`,
        [sha256(refreshToken)],
      );
      const token = rows[0];
      if (!token || token.revokedAt || new Date(token.expiresAt).getTime() <= Date.now()) return { ok: false as const, reason: 'invalid' };
      if (token.spentAt) {
        await db.query(`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'refresh token reused' WHERE id = $1`, [token.sessionId]);
        return { ok: false as const, reason: 'reused', sessionId: token.sessionId as string };
      }
      const next = randomBytes(32).toString('base64url');
      await db.query(`UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = $1`, [sha256(refreshToken)]);
      await db.query(`INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)`, [sha256(next), token.sessionId]);
      return { ok: true as const, sessionId: token.sessionId as string, userId: token.userId as string, next };
    });
    if (!outcome.ok) {
      // The session's access tokens die with it: they are not known one by one, the session is.
      if (outcome.reason === 'reused') await this.blacklist(revokedSessionKey(outcome.sessionId!), this.config.auth.accessTtlSeconds);
      throw outcome.reason === 'reused'
        ? new AuthenticationError('REFRESH_TOKEN_REUSED', 'this refresh token was already used: the session is revoked, sign in again')
        : new AuthenticationError('INVALID_REFRESH_TOKEN', 'the refresh token is invalid, expired or revoked');
    }
    const user = await this.users.findById(outcome.userId);
    if (!user) throw new AuthenticationError('INVALID_REFRESH_TOKEN', 'the refresh token is invalid, expired or revoked');
    return { user, ...(await this.accessToken(user, outcome.sessionId)), refreshToken: outcome.next };
  }

  async logout(claims: AccessClaims): Promise<void> {
    await this.dataSource.query(`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1 AND revoked_at IS NULL`, [claims.sid]);
    await this.blacklist(revokedTokenKey(claims.jti), claims.exp - Math.floor(Date.now() / 1000));
    await this.blacklist(revokedSessionKey(claims.sid), this.config.auth.accessTtlSeconds);
  }

  /** Best effort: when Redis is down the revoked session in PostgreSQL answers (see isRevoked). */
  private async blacklist(key: string, ttlSeconds: number): Promise<void> {
    if (ttlSeconds > 0) await this.redis.set(key, '1', 'EX', ttlSeconds).catch(() => undefined);
  }

  /**
   * Whether an access token was revoked (logout, refresh-token reuse). Redis answers first; when it cannot,
   * the session in PostgreSQL does, so a logout holds even while Redis is down.
   */
  async isRevoked(claims: AccessClaims): Promise<boolean> {
    try {
      return (await this.redis.exists(revokedTokenKey(claims.jti), revokedSessionKey(claims.sid))) > 0;
    } catch {
      // Redis is unreachable: the session in PostgreSQL answers instead.
    }
    const rows = await this.dataSource.query(`SELECT revoked_at AS "revokedAt" FROM auth_sessions WHERE id = $1`, [claims.sid]);
    return !rows[0] || rows[0].revokedAt !== null;
  }

  private async startSession(user: User): Promise<TokenPair> {
    const sessionId = randomUUID();
    const refreshToken = randomBytes(32).toString('base64url');
    await this.dataSource.transaction(async (db) => {
      await db.query(`INSERT INTO auth_sessions (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
        sessionId,
        user.id,
        this.config.auth.refreshTtlSeconds,
      ]);
      await db.query(`INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)`, [sha256(refreshToken), sessionId]);
    });
    return { user, ...(await this.accessToken(user, sessionId)), refreshToken };
  }

  private async accessToken(user: User, sessionId: string): Promise<{ accessToken: string; expiresIn: number }> {
    const expiresIn = this.config.auth.accessTtlSeconds;
    const accessToken = await this.jwt.signAsync(
      { sub: user.id, role: user.role, sid: sessionId },
      { secret: this.config.auth.jwtSecret, expiresIn, jwtid: randomUUID(), algorithm: 'HS256' },
    );
    return { accessToken, expiresIn };
  }
}
