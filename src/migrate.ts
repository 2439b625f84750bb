import { loadConfig } from './config.js';
import { runMigrations } from './infra/database/data-source.js';

/** `node dist/migrate.js`: brings the read-model schema up to date, then exits. */
const config = loadConfig();
await runMigrations(config.databaseUrl);
console.log(JSON.stringify({ level: 'info', msg: 'migrations applied', database: new URL(config.databaseUrl).pathname.slice(1) }));
