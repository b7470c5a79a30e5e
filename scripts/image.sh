#!/usr/bin/env bash
# `npm run image`: builds kinesis-gateway:local from the Dockerfile. The base
# is node:24-slim when it is here or a registry gives it; otherwise one built
# here without a registry (scripts/build-base-image.sh). The host's extra CA
# certificates (NODE_EXTRA_CA_CERTS), for a TLS-inspecting proxy in front of
# the npm registry, are handed to the build stages only.
#
#   IMAGE_TAG=… IMAGE_BASE=… npm run image
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${IMAGE_TAG:-kinesis-gateway:local}"
base="${IMAGE_BASE:-}"
if [[ -z "$base" ]]; then
  if docker image inspect node:24-slim >/dev/null 2>&1 ||
    timeout 60 docker pull -q node:24-slim >/dev/null 2>&1; then
    base=node:24-slim
  else
    base=kinesis-gateway-base:local
    echo "--- no registry gives node:24-slim: the base is $base, built here"
    docker image inspect "$base" >/dev/null 2>&1 || scripts/build-base-image.sh "$base"
  fi
fi

rm -f build-ca.pem
trap 'rm -f build-ca.pem' EXIT
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  cp "$NODE_EXTRA_CA_CERTS" build-ca.pem
fi

echo "--- docker build -t $tag (base $base)"
docker build --build-arg "BASE=$base" -t "$tag" .
docker image inspect --format "$tag {{.Id}} {{.Size}} bytes" "$tag"
