# syntax=docker/dockerfile:1.7
# One image for every TrackMate process: the collector API (`start`, the default), the workers (`worker`) and
# the console (`node packages/console/bin/trackmate-console.mjs`). See compose.yaml and docs/production.md.
#
#   docker build -t trackmate .
#   docker run -e MONGODB_URI=… -e REDIS_URL=… -p 8080:8080 trackmate
#
# scripts/check-dockerfile.mjs replays the RUN, COPY and CMD steps below in a fresh directory (no Docker needed).
ARG NODE_VERSION=22

# ---- build: every dependency, then the collector, its SDK build for /sdk.js, and the console ----
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
RUN npx turbo run build --filter=@trackmate/collector... --filter=@trackmate/console... --output-logs=errors-only
# production dependencies only, in place of the full install (the builds above stay)
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
# what the runtime needs, gathered in one directory: the production node_modules, and the manifest, published
# files (`files` of each package.json) and nested node_modules of each package that runs
RUN node scripts/gather-runtime.mjs .runtime packages/schema packages/collector packages/console

# ---- runtime: node, production dependencies and built files only; runs as the unprivileged `node` user ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY --from=build /app/.runtime ./
USER node
EXPOSE 8080 3000
# the collector's readiness (MongoDB and Redis answer); compose.yaml gives the workers and the console their own
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "packages/collector/dist/cli.js", "start"]
