# Unite Hub production image (docs/deploy.md#container). Multi-stage: the build stage has the dev
# dependencies (TypeScript, Vite) and builds dist/server and dist/web; the runtime stage installs
# production dependencies only (npm ci --omit=dev) and runs as the unprivileged `node` user.
# The same image serves every role: UNITE_ROLE=api | worker | all (compose.yaml runs api and worker).

# NODE_IMAGE: the official image by default; npm run verify:docker passes a stand-in built from
# Debian's packages on a machine that cannot pull from Docker Hub (docs/deploy.md).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
COPY migrations ./migrations
RUN npm run build:server && npm run build:web

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3008
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY migrations ./migrations
COPY --from=build /app/dist ./dist
# The embedded default (no DATABASE_URL) keeps PGlite's files in ./data: the only directory the
# app user may write. Mount a volume there to keep them (docker run -v unite-hub-data:/app/data).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3008
# Ready = the database answers and its schema is up to date (docs/configuration.md#migrations).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3008) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM reaches node directly (exec form): in-flight requests and worker batches finish.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server/server.js"]
