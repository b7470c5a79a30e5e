#!/usr/bin/env bash
# Builds a stand-in for kinesis-mock's image without a registry: the
# `kinesis-local` package this project pins (kinesis-mock compiled to
# JavaScript) on the same base as the gateway's image. The test suite's
# emulator harness and the compose file's emulator profile run it when
# KINESIS_MOCK_IMAGE names it; CI does that.
#
#   scripts/kinesis-mock-image.sh [TAG]      (default kinesis-mock:local)
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-kinesis-mock:local}"
context="node_modules/kinesis-local"
[[ -f "$context/main.js" ]] || { echo "no $context: run npm ci first" >&2; exit 1; }
# shellcheck source=lib/base.sh
source scripts/lib/base.sh
base="$(base_image)"

version="$(node -p "require('./$context/package.json').version")"
echo "--- docker build -t $tag (kinesis-local $version, base $base)"
docker build -q --build-arg "BASE=$base" --label "org.opencontainers.image.version=$version" \
  -f scripts/kinesis-mock.Dockerfile -t "$tag" "$context" >/dev/null
docker image inspect --format "$tag {{.Id}} {{.Size}} bytes" "$tag"
