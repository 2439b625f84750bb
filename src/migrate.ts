import { ConfigError, databaseUrl } from './config.js';
import { runMigrations } from './infra/database/data-source.js';
import { createLogger } from './observability/logger.js';

/** `node dist/migrate.js`: brings the read-model schema up to date, then exits. It needs only DATABASE_URL. */
let url: string;
try {
  url = databaseUrl(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`chronos migrate: invalid configuration: ${error.message}`);
  process.exit(2);
}
await runMigrations(url);
createLogger('info').log({ msg: 'migrations applied', database: new URL(url).pathname.slice(1) }, 'Migrate');
