# The worker image for Google Cloud Run (see worker/service.yaml). Compile the worker first, then
# build (the compiled dist/worker is part of the build context; .gcloudignore keeps it):
#   npm run build:worker
#   gcloud builds submit --tag REGION-docker.pkg.dev/PROJECT/switchyard/worker:latest .
# test/e2e/worker-image.test.ts performs these steps in a scratch folder and starts the result
# with worker/service.yaml's environment; keep the instructions to FROM, ENV, WORKDIR, COPY, RUN,
# USER, EXPOSE and CMD (exec form), the ones it knows.
FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
# The worker's own package.json and lock (from npm run build:worker): only the packages it imports.
COPY dist/worker/package.json dist/worker/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force --loglevel=error
COPY dist/worker/main.mjs dist/worker/main.mjs.map ./dist/worker/
COPY supabase/migrations ./supabase/migrations
USER node
EXPOSE 8080
CMD ["node", "--enable-source-maps", "dist/worker/main.mjs"]
