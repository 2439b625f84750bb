import { isEventFault, stallCode } from './stalls.js';

const pgError = (code: string) => Object.assign(new Error('from PostgreSQL'), { code });

describe('which failures stall a read model for one job', () => {
  it('an event the database refuses for what it holds, or projection code that throws on it', () => {
    expect(isEventFault(pgError('22P05'))).toBe(true); // untranslatable character
    expect(isEventFault(pgError('22007'))).toBe(true); // invalid datetime format
    expect(isEventFault(pgError('23514'))).toBe(true); // check constraint
    expect(isEventFault(pgError('P0001'))).toBe(true); // RAISE in a trigger
    expect(isEventFault({ driverError: { code: '22021' } })).toBe(true); // TypeORM's QueryFailedError
    expect(isEventFault(new TypeError("Cannot read properties of undefined (reading 'spec')"))).toBe(true);
  });

  it('not the infrastructure: those batches are retried whole', () => {
    expect(isEventFault(pgError('57P01'))).toBe(false); // admin shutdown
    expect(isEventFault(pgError('08006'))).toBe(false); // connection failure
    expect(isEventFault(pgError('40P01'))).toBe(false); // deadlock
    expect(isEventFault(pgError('53300'))).toBe(false); // too many connections
    expect(isEventFault(pgError('42P01'))).toBe(false); // a table missing: an operator's problem, not one job's
    expect(isEventFault(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isEventFault(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('names the kind of failure with a stable code', () => {
    expect(stallCode(pgError('22P05'))).toBe('UNSTORABLE_VALUE');
    expect(stallCode(pgError('23505'))).toBe('CONSTRAINT_VIOLATION');
    expect(stallCode(pgError('P0001'))).toBe('REFUSED_BY_DATABASE');
    expect(stallCode(new TypeError('x'))).toBe('PROJECTION_ERROR');
  });
});
