import { createHash, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import { accessTokenKey } from './access-token-key.js';
import { AuthenticationError, ConflictError } from './auth.errors.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { SessionCache } from './session-cache.js';
import { UsersRepository, type Role, type User } from './users.repository.js';

export interface AccessClaims {
  sub: string;
  /** The role when the token was issued, for clients; authorization uses the user's current role (SessionCache). */
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

/**
 * Sign-up, sign-in and tokens. Access tokens are short-lived JWTs; refresh tokens are opaque, stored
 * hashed, rotated on every use, and a spent one presented again revokes its whole session (it was stolen,
 * or the legitimate client was). Logout revokes the session in PostgreSQL. An access token is good only
 * while its session is live (SessionCache), so ending a session ends its access tokens at once.
 */
@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly log = new Logger(AuthService.name);
  private readonly signingKey: KeyObject;

  constructor(
    private readonly users: UsersRepository,
    private readonly jwt: JwtService,
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly sessions: SessionCache,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {
    this.signingKey = accessTokenKey(config.auth.jwtSecret);
  }

  /** The admin of CHRONOS_ADMIN_EMAIL is created if missing, promoted if it exists (its password is kept). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.auth.jwtSecretGenerated) {
      this.log.warn('JWT_SECRET is not set: access tokens are signed with a random secret of this process; other processes refuse them and they die with it. Set JWT_SECRET (npm run up does).');
    }
    const admin = this.config.auth.admin;
    if (!admin) return;
    const created = await this.users.create(admin.email, 'Administrator', 'admin', await hashPassword(admin.password));
    if (!created) {
      const existing = await this.users.findCredentials(admin.email);
      if (existing && existing.role !== 'admin') await this.changeRole(existing.id, 'admin');
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
      // The session's access tokens die with it.
      if (outcome.reason === 'reused') await this.sessions.changed({ sessionId: outcome.sessionId! });
      throw outcome.reason === 'reused'
        ? new AuthenticationError('REFRESH_TOKEN_REUSED', 'this refresh token was already used: the session is revoked, sign in again')
        : new AuthenticationError('INVALID_REFRESH_TOKEN', 'the refresh token is invalid, expired or revoked');
    }
    const user = await this.users.findById(outcome.userId);
    if (!user) throw new AuthenticationError('INVALID_REFRESH_TOKEN', 'the refresh token is invalid, expired or revoked');
    return { user, ...(await this.accessToken(user, outcome.sessionId)), refreshToken: outcome.next };
  }

  /** Ends the session: its access tokens (and open event streams) at once, in every API process, and its refresh token. */
  async logout(claims: AccessClaims): Promise<void> {
    await this.dataSource.query(`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1 AND revoked_at IS NULL`, [claims.sid]);
    await this.sessions.changed({ sessionId: claims.sid });
  }

  /** The user's new role holds from their next request on, in every API process; their open event streams close. */
  async changeRole(userId: string, role: Role): Promise<User | null> {
    const user = await this.users.setRole(userId, role);
    if (user) await this.sessions.changed({ userId });
    return user;
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
      { privateKey: this.signingKey, expiresIn, jwtid: randomUUID(), algorithm: 'HS256' },
    );
    return { accessToken, expiresIn };
  }
}
