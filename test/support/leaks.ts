import type { JetStreamManager } from '@nats-io/jetstream';
import type { DataSource } from 'typeorm';
import { ApiClient, type ApiResponse } from './stack.js';

/** Where to look for a secret that must not be there: every answer, stream message and table row. */

/** A client that keeps every API answer of a test as text (headers too). */
export class RecordingClient extends ApiClient {
  readonly answers: { what: string; text: string }[] = [];

  override async request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse> {
    const res = await super.request(method, path, body, headers);
    this.answers.push({ what: `${method} ${path} → ${res.status}`, text: `${JSON.stringify([...res.headers])} ${JSON.stringify(res.body)}` });
    return res;
  }
}

export interface StreamMessage {
  stream: string;
  seq: number;
  body: string;
  /** Subject, headers and body: what to search. */
  text: string;
}

/** Every message of every stream (work items acknowledged are gone; what is left is read). */
export async function streamMessages(jsm: JetStreamManager): Promise<StreamMessage[]> {
  const found: StreamMessage[] = [];
  for await (const stream of jsm.streams.list()) {
    const { first_seq, last_seq } = stream.state;
    for (let seq = first_seq; seq <= last_seq && last_seq > 0; seq++) {
      const message = await jsm.streams.getMessage(stream.config.name, { seq }).catch(() => null);
      if (!message) continue;
      const headers = message.header ? [...message.header].map(([name, values]) => `${name}: ${values.join(', ')}`).join('\n') : '';
      found.push({ stream: stream.config.name, seq, body: message.string(), text: `${message.subject}\n${headers}\n${message.string()}` });
    }
  }
  return found;
}

/** Every row of every table of the public schema, as PostgreSQL writes it as text. */
export async function tableRows(dataSource: DataSource): Promise<{ table: string; row: string }[]> {
  const tables = (await dataSource.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)) as { table_name: string }[];
  const rows: { table: string; row: string }[] = [];
  for (const { table_name } of tables) {
    for (const { row } of (await dataSource.query(`SELECT t::text AS row FROM "${table_name}" t`)) as { row: string }[]) rows.push({ table: table_name, row });
  }
  return rows;
}
