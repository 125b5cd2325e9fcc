import { z } from 'zod';

/**
 * The app's configuration, parsed once from the environment. `process.env` is read nowhere
 * else in the app. Every variable is documented in the README's configuration table.
 */
const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/database' },
);

const flag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  EMBEDDED_WORKER: flag.default(true),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(1),
  WORKER_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url({ message: 'must be a URL' }).optional(),
});

export type AppEnv = z.infer<typeof schema>;

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Switchyard cannot start: the configuration is invalid.\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** Parses an environment, listing every wrong variable in one error. Empty strings count as unset. */
export function parseEnv(source: Record<string, string | undefined>): AppEnv {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigurationError(
      result.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const got = cleaned[name];
        return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(redact(name, got))})`}`;
      }),
    );
  }
  return result.data;
}

function redact(name: string, value: string): string {
  if (/KEY|SECRET|TOKEN|PASSWORD/.test(name)) return '…';
  if (name === 'DATABASE_URL') return value.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:…@');
  return value;
}

let cached: AppEnv | undefined;

export function getEnv(): AppEnv {
  cached ??= parseEnv(process.env);
  return cached;
}
