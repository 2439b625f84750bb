import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  const dev = { NODE_ENV: 'development' };

  it('fires up to 2 s ahead by default; FIRE_AHEAD_MS takes 0 to 5000 and nothing else', () => {
    expect(loadConfig(dev).fireAheadMs).toBe(2000);
    expect(loadConfig({ ...dev, FIRE_AHEAD_MS: '0' }).fireAheadMs).toBe(0);
    expect(loadConfig({ ...dev, FIRE_AHEAD_MS: '5000' }).fireAheadMs).toBe(5000);
    expect(() => loadConfig({ ...dev, FIRE_AHEAD_MS: '5001' })).toThrow(new ConfigError('FIRE_AHEAD_MS must be at most 5000, got 5001'));
    expect(() => loadConfig({ ...dev, FIRE_AHEAD_MS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...dev, FIRE_AHEAD_MS: 'soon' })).toThrow(/FIRE_AHEAD_MS/);
  });

  it('waits up to 2 s for the read models by default; READ_YOUR_WRITES_WAIT_MS takes 0 (no wait) to 30000 and nothing else', () => {
    expect(loadConfig(dev).readYourWritesWaitMs).toBe(2000);
    expect(loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '0' }).readYourWritesWaitMs).toBe(0);
    expect(loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '30000' }).readYourWritesWaitMs).toBe(30_000);
    expect(() => loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '30001' })).toThrow(new ConfigError('READ_YOUR_WRITES_WAIT_MS must be at most 30000, got 30001'));
    expect(() => loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...dev, READ_YOUR_WRITES_WAIT_MS: '2s' })).toThrow(/READ_YOUR_WRITES_WAIT_MS/);
  });
});
