import { Logger } from '@nestjs/common';

// Code under test outside a Chronos app (a JobRepository in a test, say) logs through Nest's default
// logger, which writes every level: keep the test output to what matters. A Chronos app started by a test
// installs its own logger.
Logger.overrideLogger(['fatal', 'error', 'warn']);
