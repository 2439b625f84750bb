import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users, sessions and refresh tokens. Kept in PostgreSQL, outside the immutable event log, so that
 * credentials can be deleted.
 */
export class UsersAndSessions1763900000000 implements MigrationInterface {
  name = 'UsersAndSessions1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email text NOT NULL UNIQUE,
        name text,
        role text NOT NULL CHECK (role IN ('admin', 'user')),
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE auth_sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text
      )`);
    await db.query(`CREATE INDEX auth_sessions_user ON auth_sessions (user_id)`);
    await db.query(`
      CREATE TABLE refresh_tokens (
        token_hash text PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        spent_at timestamptz
      )`);
    await db.query(`CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE refresh_tokens, auth_sessions, users`);
  }
}
