/**
 * BullMQ's worker for the HTTP-path comparison, in a process of its own as Chronos's worker is:
 * `fork(bullmq-worker.js, [redisUrl, queueName, concurrency])`. Reports how many jobs it completed over IPC
 * every 100 ms; stops on `stop`.
 */
import { Worker } from 'bullmq';

const [redisUrl, queueName, concurrency] = process.argv.slice(2);
let completed = 0;
const worker = new Worker(queueName!, async () => undefined, { connection: { url: redisUrl! }, concurrency: Number(concurrency) });
worker.on('completed', () => void completed++);
worker.on('error', (error) => console.warn(`[bench/bullmq-worker] ${error.message}`));
await worker.waitUntilReady();
const report = setInterval(() => process.send!({ completed }), 100);
process.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(report);
  void worker.close().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(1));
process.send!({ ready: true });
