import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startChronos } from './app.js';
import { ConfigError, loadConfig } from './config.js';

/** `node dist/main.js`: runs the roles of CHRONOS_ROLES until SIGINT/SIGTERM, then drains and exits. */
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`chronos: invalid configuration: ${error.message}`);
  process.exit(2);
}
const chronos = await startChronos(config);
new Logger('Chronos').log({ msg: 'chronos started', port: chronos.port, roles: [...config.roles] });
