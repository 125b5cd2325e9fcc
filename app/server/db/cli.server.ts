/**
 * `npm run db:migrate` and `npm run db:seed`: the same migration runner and seed the app
 * uses at start-up, against DATABASE_URL (or the embedded database when it is unset).
 */
import { ConfigurationError, getEnv } from '../env.server';
import { migrate } from './migrate.server';
import { describeDatabase, openDatabase } from './open.server';
import { seed } from './seed.server';

async function main(command: string | undefined) {
  const env = getEnv();
  const db = await openDatabase(env);
  try {
    if (command === 'migrate') {
      const applied = await migrate(db);
      console.log(
        applied.length
          ? `Applied ${applied.length} migration(s) to ${describeDatabase(env)}: ${applied.join(', ')}`
          : `${describeDatabase(env)} is up to date.`,
      );
    } else if (command === 'seed') {
      await migrate(db);
      await seed(db);
      console.log(`Seeded ${describeDatabase(env)} with supabase/seed.sql.`);
    } else {
      throw new Error(`Unknown command "${command}": use migrate or seed.`);
    }
  } finally {
    await db.close();
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error instanceof ConfigurationError ? error.message : `Failed: ${(error as Error).message}`);
  process.exit(1);
});
