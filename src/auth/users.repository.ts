import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type Role = 'admin' | 'user';

export interface User {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  createdAt: string;
}

const COLUMNS = `id, email, name, role, created_at AS "createdAt"`;
const toUser = (row: Omit<User, 'createdAt'> & { createdAt: Date }): User => ({ ...row, createdAt: row.createdAt.toISOString() });

/** Accounts live in PostgreSQL, not in the event log, so credentials can be deleted for good. */
@Injectable()
export class UsersRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Creates the user; null when the email is taken. */
  async create(email: string, name: string | null, role: Role, passwordHash: string): Promise<User | null> {
    const rows = await this.dataSource.query(
      `INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email) DO NOTHING RETURNING ${COLUMNS}`,
      [randomUUID(), email, name, role, passwordHash],
    );
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findCredentials(email: string): Promise<(User & { passwordHash: string }) | null> {
    const rows = await this.dataSource.query(`SELECT ${COLUMNS}, password_hash AS "passwordHash" FROM users WHERE email = $1`, [email]);
    return rows[0] ? { ...toUser(rows[0]), passwordHash: rows[0].passwordHash } : null;
  }

  async findById(id: string): Promise<User | null> {
    const rows = await this.dataSource.query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async list(page: number, limit: number): Promise<{ items: User[]; total: number }> {
    const [{ total }] = await this.dataSource.query(`SELECT count(*)::int AS total FROM users`);
    const rows = await this.dataSource.query(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [limit, (page - 1) * limit]);
    return { items: rows.map(toUser), total };
  }

  async setRole(id: string, role: Role): Promise<User | null> {
    // TypeORM answers an UPDATE with [rows, affected].
    const [rows] = await this.dataSource.query(`UPDATE users SET role = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [id, role]);
    return rows[0] ? toUser(rows[0]) : null;
  }
}
