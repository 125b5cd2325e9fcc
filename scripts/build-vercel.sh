#!/usr/bin/env bash
# `npm run build:vercel`: builds the app as Vercel does, into .vercel/output (Build Output API v3),
# with the pinned Vercel CLI, offline. Needs no Vercel account: without a linked project it uses
# scripts/vercel-project.template.json (framework remix, Node 22). `vercel link` / `vercel pull`
# replace .vercel/project.json with the real project's; this script then leaves it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deploy-tools.sh
mkdir -p .vercel
[ -f .vercel/project.json ] || cp scripts/vercel-project.template.json .vercel/project.json
rm -rf .vercel/output
VERCEL_TELEMETRY_DISABLED=1 tools/deploy/node_modules/.bin/vercel build --yes "$@"
