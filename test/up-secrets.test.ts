import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const STACK = resolve(process.cwd(), 'scripts/stack.sh');

/**
 * `npm run up` on a server: the secrets of a data folder are made by scripts/stack.sh (stack_export_secrets),
 * once per folder, kept in it readable by its owner only, and never printed. Runs the real script in bash.
 */
describe('the secrets npm run up keeps in its data folder', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chronos-up-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Sources stack.sh, exports the folder's secrets, prints what Chronos would get; stdout/stderr of the function itself kept apart. */
  function exportSecrets(env: Record<string, string> = {}, folder = dir): { exported: Record<string, string>; output: string } {
    const script = `set -euo pipefail; source "$1"; stack_export_secrets "$2" >"$2.out" 2>&1; ` + `printf '%s\\n' "JWT_SECRET=\${JWT_SECRET:-}" "CHRONOS_SECRETS_KEY=\${CHRONOS_SECRETS_KEY:-}" "LEGACY=\${CHRONOS_SECRETS_LEGACY_JWT_SECRET:-}"`;
    const text = execFileSync('bash', ['--norc', '-c', script, 'bash', STACK, folder], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
    const exported = Object.fromEntries(text.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    const output = readFileSync(`${folder}.out`, 'utf8');
    rmSync(`${folder}.out`);
    return { exported, output };
  }

  it('generates a random JWT secret and secrets key once, mode 0600, and prints neither', () => {
    const first = exportSecrets();
    expect(first.output).toBe('');
    expect(first.exported.JWT_SECRET).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(first.exported.CHRONOS_SECRETS_KEY).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(first.exported.CHRONOS_SECRETS_KEY).not.toBe(first.exported.JWT_SECRET);
    expect(first.exported.LEGACY).toBe('');
    for (const file of ['jwt-secret', 'secrets-key']) {
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(dir, file), 'utf8')).toBe(first.exported[file === 'jwt-secret' ? 'JWT_SECRET' : 'CHRONOS_SECRETS_KEY']);
    }
    // The same folder keeps its secrets (tokens and sealed secrets survive a restart); another folder has its own.
    expect(exportSecrets().exported).toEqual(first.exported);
    const other = mkdtempSync(join(tmpdir(), 'chronos-up-'));
    try {
      expect(exportSecrets({}, other).exported.JWT_SECRET).not.toBe(first.exported.JWT_SECRET);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('leaves secrets set by the caller alone, and writes no file for them', () => {
    const given = { JWT_SECRET: 'j'.repeat(40), CHRONOS_SECRETS_KEY: 's'.repeat(40) };
    expect(exportSecrets(given).exported).toEqual({ ...given, LEGACY: '' });
    expect(() => statSync(join(dir, 'jwt-secret'))).toThrow();
    expect(() => statSync(join(dir, 'secrets-key'))).toThrow();
  });

  it('in a folder used by an older version (data, no secrets key), passes on the JWT secret its job keys were wrapped under', () => {
    mkdirSync(join(dir, 'nats'));
    const upgraded = exportSecrets();
    expect(upgraded.output).toBe('');
    expect(upgraded.exported.LEGACY).toBe('chronos-development-secret-not-for-production-use');
    expect(statSync(join(dir, 'legacy-jwt-secret')).mode & 0o777).toBe(0o600);
    // With JWT_SECRET set back then, that one wrapped them.
    rmSync(join(dir, 'secrets-key'));
    expect(exportSecrets({ JWT_SECRET: 'j'.repeat(40) }).exported.LEGACY).toBe('j'.repeat(40));
  });
});
