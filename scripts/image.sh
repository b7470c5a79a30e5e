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
# shellcheck source=lib/base.sh
source scripts/lib/base.sh
base="$(base_image)"

rm -f build-ca.pem
trap 'rm -f build-ca.pem' EXIT
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  cp "$NODE_EXTRA_CA_CERTS" build-ca.pem
fi

echo "--- docker build -t $tag (base $base)"
docker build --build-arg "BASE=$base" -t "$tag" .
docker image inspect --format "$tag {{.Id}} {{.Size}} bytes" "$tag"
