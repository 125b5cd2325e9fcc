import { ConfigurationError, parseEnv } from './env.server';

describe('parseEnv', () => {
  it('defaults to the embedded database and worker with no environment at all', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, PGLITE_DATA_DIR: '.data/pglite', EMBEDDED_WORKER: true });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('lists every wrong variable in one error, naming each', () => {
    try {
      parseEnv({ DATABASE_URL: 'mysql://root@db/app', PORT: 'eighty', EMBEDDED_WORKER: 'maybe' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      const message = (error as Error).message;
      expect(message).toContain('PORT:');
      expect(message).toContain('DATABASE_URL: must be a PostgreSQL URL');
      expect(message).toContain('EMBEDDED_WORKER: must be true or false');
      expect((error as ConfigurationError).problems).toHaveLength(3);
    }
  });

  it('never echoes a password from a bad value', () => {
    expect(() => parseEnv({ DATABASE_URL: 'postgres://app:hunter2@/nohost' })).toThrow(/postgres:\/\/app:…@/);
    expect(() => parseEnv({ DATABASE_URL: 'postgres://app:hunter2@/nohost' })).not.toThrow(/hunter2/);
  });
});
