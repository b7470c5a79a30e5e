# kinesis-gateway. The image is Node, the production dependencies, bin/ and
# the JavaScript the TypeScript compiler emits from src/ (dist/): no sources,
# no dev dependencies, no tests. (Type stripping would work too, but keeps
# the compiler's WebAssembly resident: ~30 MiB more.)
#
#   docker build -t kinesis-gateway:local .
#   docker run --rm -p 4567:4567 kinesis-gateway:local --streams orders:4,events:1
#
# With the records kept across restarts, in the named volume kinesis-data:
#
#   docker run -d -p 4567:4567 -v kinesis-data:/var/lib/kinesis-gateway \
#     kinesis-gateway:local --data-dir /var/lib/kinesis-gateway --streams orders:4,events:1
#
# Node 24 is the floor (package.json "engines"). The default
# follows the latest 24.x on each build; --build-arg NODE_VERSION=24.21.0 pins
# the exact version the test suite runs on.
#
# BASE is the image every stage starts from: node:<NODE_VERSION>-slim from a
# registry, or, where none is reachable, one built here with
# scripts/build-base-image.sh (Debian from its mirror, this project's pinned
# Node); `npm run image` picks. A TLS-inspecting proxy between the build and
# the npm registry: its CA certificates in build-ca.pem (the image script
# writes it from the host's trust store) are trusted by the build stages'
# `npm ci` only; the final image does not hold them.
ARG NODE_VERSION=24
ARG BASE=node:${NODE_VERSION}-slim

FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json build-ca.pe[m] ./
# --omit=dev leaves out the devDependency `node`, which only pins the runtime
# of npm scripts on machines with an older Node: this image is Node 24 already.
# package.json's allowScripts lets no production dependency run an install
# script (protobufjs and cbor-extract are denied; cbor-extract's prebuilt
# binary is loaded at run time). npm 11 only warns about unlisted scripts, so
# --ignore-scripts enforces the same policy today.
RUN if [ -f build-ca.pem ]; then export NODE_EXTRA_CA_CERTS="$PWD/build-ca.pem"; fi && \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json build-ca.pe[m] ./
RUN if [ -f build-ca.pem ]; then export NODE_EXTRA_CA_CERTS="$PWD/build-ca.pem"; fi && \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${BASE}
LABEL org.opencontainers.image.title="kinesis-gateway" \
      org.opencontainers.image.description="gRPC, gRPC-Web, Connect and Kinesis API gateway for Amazon Kinesis Data Streams" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production MALLOC_MMAP_THRESHOLD_=4194304
WORKDIR /app
# Owned by root and read-only to the process: the gateway writes nothing but
# its data dir (below), so the container also runs with a read-only root
# filesystem.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
# The durable engine's data dir, owned by the user below: a named volume
# mounted here starts as a copy of it, owner included, so the gateway can
# write to it (Kubernetes uses fsGroup instead). The image sets no data dir,
# so the in-memory engine stays the default. Created before VOLUME, which
# would discard later changes.
RUN install -d -o 1000 -g 1000 -m 0700 /var/lib/kinesis-gateway
# The official image's `node` user, by number so that Kubernetes can verify
# runAsNonRoot without looking the name up.
USER 1000:1000
# Writable under a read-only root filesystem too. Without -v, each container
# gets an anonymous volume here; `docker run --rm` removes it with the container.
VOLUME /var/lib/kinesis-gateway
# gRPC (h2c), gRPC-Web, Connect, the Kinesis API, /healthz, /readyz, /metrics.
EXPOSE 4567
# The gateway drains on SIGTERM (--drain-timeout-seconds, 25 by default): give
# it longer than that before SIGKILL (docker stop -t 30, compose
# stop_grace_period, Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# Alive, not ready: /readyz follows the upstream in forward mode, and an
# unreachable Kinesis is no reason to call the container unhealthy. The slim
# image has no curl; Node's fetch does it. Override it if you change the port
# by flag (KINESIS_GATEWAY_PORT is followed) or serve TLS only.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.KINESIS_GATEWAY_PORT || 4567) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=8", "bin/kinesis-gateway.js"]
