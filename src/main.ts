import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startChronos } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { ReplicationError } from './infra/replication.js';

/** `node dist/main.js`: runs the roles of CHRONOS_ROLES until SIGINT/SIGTERM, then drains and exits. */
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`chronos: invalid configuration: ${error.message}`);
  process.exit(2);
}
const chronos = await startChronos(config).catch((error: unknown) => {
  if (!(error instanceof ReplicationError)) throw error;
  console.error(`chronos: the NATS server cannot keep what is asked: ${error.message}`);
  process.exit(2);
});
new Logger('Chronos').log({ msg: 'chronos started', port: chronos.port, roles: [...config.roles] });
