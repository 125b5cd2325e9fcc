import { createHash } from 'node:crypto';

/**
 * The migrated template each test database is copied from. Named after the checkout, so two
 * checkouts testing against one PostgreSQL server at once never drop each other's template.
 */
export const TEMPLATE_DATABASE = `switchyard_test_template_${createHash('sha256').update(process.cwd()).digest('hex').slice(0, 8)}`;

export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
