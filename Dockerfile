# The worker image for Google Cloud Run (see worker/service.yaml).
# Build: docker build -t REGION-docker.pkg.dev/PROJECT/switchyard/worker .
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY app/domain ./app/domain
COPY app/server ./app/server
COPY worker ./worker
COPY supabase/migrations ./supabase/migrations
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "worker/main.ts"]
