/**
 * One Chronos process of the HTTP benchmarks, started by bench/chronos-processes.ts with `fork`: as
 * `node dist/main.js` does (the configuration from the environment), except that it reports its port over
 * IPC, stops on the message `stop`, and records a CPU profile of just the measured window on
 * `{ profile: 'start' }` … `{ profile: 'stop', file }` (V8's sampling profiler through node:inspector).
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { startChronos } from '../src/app.js';
import { loadConfig } from '../src/config.js';

type Control = 'stop' | { profile: 'start' } | { profile: 'stop'; file: string };

const chronos = await startChronos(loadConfig());
let profiler: Session | undefined;

async function control(message: Control): Promise<void> {
  if (message === 'stop') {
    await chronos.close();
    process.exit(0);
  } else if (message.profile === 'start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    process.send!({ profiling: true });
  } else {
    const { profile } = await profiler!.post('Profiler.stop');
    profiler!.disconnect();
    await writeFile(message.file, JSON.stringify(profile));
    process.send!({ profiled: message.file });
  }
}

process.on('message', (message: Control) =>
  void control(message).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  }),
);
// The benchmark that started it is gone: stop as well.
process.on('disconnect', () => void chronos.close().finally(() => process.exit(1)));
process.send!({ ready: true, port: chronos.port });
