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
});
