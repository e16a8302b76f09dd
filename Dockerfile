# journeyctl as a container: `docker build -t journeyctl .`, then e.g.
#   docker run --rm -v journeyctl-data:/data journeyctl run --source kafka --until-caught-up --brokers kafka:9092 --topic events
# The data directory (embedded stores) is the volume /data; with MongoDB and ClickHouse
# (--mongo-url/--clickhouse-url or JOURNEY_MONGO_URL/JOURNEY_CLICKHOUSE_URL) it stays empty.
# Checked here by hadolint and test/deploy/dockerfile.test.ts; no engine builds it on CI.

ARG NODE_IMAGE=node:20-slim

# ---- build: compile TypeScript (dev dependencies; no native builds needed for tsc)
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund || npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# ---- deps: production dependencies only (better-sqlite3 and chdb fetch prebuilt binaries;
# the compilers are there for a platform without one)
FROM ${NODE_IMAGE} AS deps
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` builds with tsc, a dev dependency: the build stage did that already.
# npm ci refuses this lock file when the registry does not serve some other-platform optional
# packages: then `npm install` installs the same locked versions (as .ci/run does).
RUN npm pkg delete scripts.prepare \
 && { npm ci --omit=dev --no-audit --no-fund \
      || { echo "npm ci refused the lock file; installing from it with npm install" >&2 \
           && npm install --omit=dev --no-audit --no-fund; }; } \
 && npm cache clean --force

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    JOURNEY_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY fixtures ./fixtures
RUN ln -s /app/bin/journeyctl.js /usr/local/bin/journeyctl \
 && mkdir -p /data \
 && chown node:node /data
# The image's unprivileged user (uid 1000), never root.
USER node
VOLUME ["/data"]
# Healthy when the configured engines answer (doctor exits 3 when one does not).
HEALTHCHECK --interval=30s --timeout=20s --start-period=20s --retries=3 \
  CMD ["journeyctl", "doctor", "--output", "json"]
ENTRYPOINT ["journeyctl"]
CMD ["--help"]
