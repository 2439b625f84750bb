/**
 * The floor of the read benchmark: a minimal node:http server answering each path with the answer Chronos
 * gave for it (status, content type, ETag, bytes), from memory. `fork` it, send it the answers over IPC;
 * it replies with its port. What Chronos costs above this is its own work.
 */
import { createServer } from 'node:http';

interface Answer {
  path: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

process.once('message', (answers: Answer[]) => {
  const byPath = new Map(answers.map((a) => [a.path, { status: a.status, headers: a.headers, body: Buffer.from(a.body, 'base64') }]));
  const server = createServer((req, res) => {
    const answer = byPath.get(req.url ?? '');
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length }).end(answer.body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  });
});
process.on('disconnect', () => process.exit(0));
