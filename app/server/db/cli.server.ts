/**
 * `npm run db:migrate`, `npm run db:seed` and `npm run demo:add` / `demo:remove`: the same
 * migration runner, seed and demo history the app uses at start-up, against DATABASE_URL (or the
 * embedded database when it is unset; stop `npm start` first, PGlite has one process).
 */
import { ConfigurationError, getEnv } from '../env.server';
import { migrate } from './migrate.server';
import { describeDatabase, openDatabase } from './open.server';
import { addDemoData, removeDemoData } from './demo.server';
import { seed } from './seed.server';

async function main(command: string | undefined, argument: string | undefined) {
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
    } else if (command === 'demo' && argument === 'add') {
      await migrate(db);
      const added = await addDemoData(db);
      console.log(
        added
          ? `Added ${added.chapters} demo chapters, ${added.jobs} jobs and ${added.learners} learners of demo history to ${describeDatabase(env)}.`
          : `${describeDatabase(env)} already has the demo history.`,
      );
    } else if (command === 'demo' && argument === 'remove') {
      const removed = await removeDemoData(db);
      console.log(
        `Removed the demo history from ${describeDatabase(env)}: ${removed.jobs} jobs, ${removed.batches} batches, ` +
          `${removed.versions} routing versions, ${removed.courses} demo courses. Nothing else was touched.`,
      );
    } else {
      throw new Error(
        `Unknown command "${[command, argument].filter(Boolean).join(' ')}": use migrate, seed, demo add or demo remove.`,
      );
    }
  } finally {
    await db.close();
  }
}

main(process.argv[2], process.argv[3]).catch((error) => {
  console.error(error instanceof ConfigurationError ? error.message : `Failed: ${(error as Error).message}`);
  process.exit(1);
});
