// `npm run build:worker`: compiles the standalone worker (worker/main.ts and the app/domain and
// app/server modules it imports) into one ES module, dist/worker/main.mjs, so the image runs
// plain JavaScript on Node (no tsx, no TypeScript sources). Packages stay external; beside the
// bundle it writes the worker's own package.json (only the packages the bundle imports, at the
// versions of the app's package-lock.json) and a package-lock.json pruned from the app's, so the
// image's `npm ci --omit=dev` installs exactly those, at the versions the tests ran.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';

import { build } from 'esbuild';

const ALIAS = /^~\//;
const OUT = 'dist/worker';

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  entryPoints: ['worker/main.ts'],
  outfile: `${OUT}/main.mjs`,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [
    {
      // The app's `~/` alias (tsconfig paths) is source, not a package: resolve it before
      // `packages: 'external'` would keep it as an import.
      name: 'app-alias',
      setup(builder) {
        builder.onResolve({ filter: ALIAS }, (args) =>
          builder.resolve(`./app/${args.path.replace(ALIAS, '')}`, { kind: args.kind, resolveDir: process.cwd() }),
        );
      },
    },
  ],
});

const builtins = new Set(builtinModules);
const packages = new Set();
for (const input of Object.values(result.metafile.inputs)) {
  for (const imported of input.imports) {
    if (!imported.external || imported.path.startsWith('node:') || builtins.has(imported.path)) continue;
    const parts = imported.path.split('/');
    packages.add(imported.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
}

const app = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const dependencies = Object.fromEntries(
  [...packages].sort().map((name) => {
    const locked = lock.packages[`node_modules/${name}`];
    if (!locked) throw new Error(`${name} is imported by the worker but not in package-lock.json`);
    if (!app.dependencies[name])
      throw new Error(`${name} is imported by the worker but not a dependency in package.json`);
    return [name, locked.version];
  }),
);
writeFileSync(
  `${OUT}/package.json`,
  JSON.stringify(
    {
      name: 'switchyard-worker',
      version: app.version,
      private: true,
      type: 'module',
      engines: app.engines,
      dependencies,
    },
    null,
    2,
  ) + '\n',
);
// Start from the app's lock so every transitive version stays the one the tests ran; npm prunes
// what the worker does not need.
copyFileSync('package-lock.json', `${OUT}/package-lock.json`);
execFileSync(
  'npm',
  ['install', '--package-lock-only', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
  {
    cwd: OUT,
    stdio: 'inherit',
  },
);
console.log(`built ${OUT}/main.mjs; packages: ${Object.keys(dependencies).join(', ')}`);
