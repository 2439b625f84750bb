/** Users of the HTTP benchmarks: signed up over HTTP, as any client would. */
import { randomUUID } from 'node:crypto';
import type { HttpClient } from './http-client.js';

export interface BenchUser {
  id: string;
  token: string;
  /** `Bearer <token>`, ready for the Authorization header. */
  authorization: string;
}

export async function signUp(client: HttpClient, label: string): Promise<BenchUser> {
  const { accessToken } = await client.json<{ accessToken: string }>(
    { method: 'POST', path: '/api/v1/auth/register', body: { email: `${label}-${randomUUID()}@example.com`, password: 'Bench1234', name: label } },
    201,
  );
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sub: string };
  return { id: claims.sub, token: accessToken, authorization: `Bearer ${accessToken}` };
}

export async function signUpMany(client: HttpClient, label: string, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < count; i++) users.push(await signUp(client, `${label}-${i}`));
  return users;
}
