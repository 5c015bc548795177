# syntax=docker/dockerfile:1.7
# The one Sluice image: `sluice gateway`, `sluice deliver`, `sluice topics ensure`, …
# (docs/architecture.md#processes).
#
#   docker build -t sluice:dev .
#   docker run --rm sluice:dev schemas check
#
# Node 20 on Debian (glibc): uWebSockets.js ships prebuilt binaries for glibc ≥ 2.27 and Node ABIs
# 93/108/115 only (Node 16/18/20). On Alpine (musl) or Node 22 it silently falls back to a slow
# pure-JS server, so neither is an option. Pin the base by digest in your release pipeline
# (NODE_IMAGE=node:20-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile TypeScript to dist/ -------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY common/ common/
COPY gateway/ gateway/
COPY consumers/ consumers/
COPY schemas/ schemas/
COPY cli/ cli/
COPY log/ log/
RUN npm run build

# ---- production dependencies only (no tsx, vitest, typescript…) --------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay on: bufferutil and utf-8-validate pick their prebuilt binaries through them.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund --loglevel=error
# uWebSockets.js ships binaries for every platform and Node ABI (113 MiB). Keep the one this Node
# loads, and fail the build when there is none: otherwise the server would quietly start on its
# slow pure-JS fallback (this is what a bump to an unsupported Node version would do).
RUN node -e " \
  const fs = require('fs'), dir = 'node_modules/uWebSockets.js/binaries'; \
  const keep = 'uws_' + process.platform + '_' + process.arch + '_' + process.versions.modules + '.node'; \
  if (!fs.existsSync(dir + '/' + keep)) { console.error('uWebSockets.js has no ' + keep); process.exit(1); } \
  for (const file of fs.readdirSync(dir)) if (file !== keep) fs.rmSync(dir + '/' + file);"

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Event gateway on Apache Kafka: HTTP ingest, Avro on Kafka, signed webhook delivery" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
ENV NODE_ENV=production
WORKDIR /app
# Everything is owned by root and only readable by the runtime user: the process cannot change its
# own code, and nothing here needs to be written, so the root filesystem can be mounted read-only.
# package.json must be present: its "type": "module" makes Node load dist/**/*.js as ES modules.
COPY package.json ./
COPY --from=prod-deps /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
# bin/sluice.js runs dist/cli/sluice.js because the image holds no cli/ sources.
COPY bin/ bin/
# The example event types. tsc copies neither .avsc nor .json: `sluice schemas import --examples`
# (the Helm chart's schemas.import.examples) and `sluice schemas check` walk up from dist/schemas/
# and find /app/schemas/manifest.json and /app/schemas/avro/. The fixtures are imported as each
# version's example, and `schemas check` decodes them to prove each version reads the previous one
# (84 KiB).
COPY schemas/manifest.json schemas/
COPY schemas/avro/ schemas/avro/
COPY schemas/fixtures/ schemas/fixtures/
# The delivery log's SQL migrations (`sluice log migrate`), found the same way from dist/log/.
COPY log/migrations/ log/migrations/
# The `node` user of the official image, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081 8082 8083
# Node as PID 1 is fine here: both services handle SIGTERM/SIGINT themselves (drain, then exit)
# and start no child processes, so there is nothing to reap.
ENTRYPOINT ["node", "bin/sluice.js"]
CMD ["--help"]
