#!/usr/bin/env bash
# Builds the Dockerfile's base image without a container registry: a minimal
# Debian root filesystem made with debootstrap from Debian's mirror, the Node
# binary of the `node` npm package this project pins (node_modules/node), and
# the machine's own npm for the build stages' `npm ci`; imported with
# `docker import`. Where a registry is reachable, node:24-slim does the same.
#
#   scripts/build-base-image.sh [TAG]        (default kinesis-gateway-base:local)
#
# Needs root (debootstrap), debootstrap, Docker, and `npm ci` run here first.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-kinesis-gateway-base:local}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
node_binary="node_modules/node/bin/node"
npm_dir="$(npm root -g)/npm"
[[ -x "$node_binary" ]] || { echo "no $node_binary: run npm ci first" >&2; exit 1; }
[[ -f "$npm_dir/bin/npm-cli.js" ]] || { echo "no npm at $npm_dir" >&2; exit 1; }

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
# mktemp's 0700 would become the image's /, which user 1000 could not enter.
chmod 0755 "$rootfs"
echo "--- debootstrap $suite (minbase) from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >/dev/null
# What a runtime image needs none of: documentation, manuals, locales, apt's lists.
rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/debconf/*-old

echo "--- node $("$node_binary" --version) and npm $(node "$npm_dir/bin/npm-cli.js" --version 2>/dev/null || echo '?')"
install -m 0755 "$node_binary" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# The official image's `node` user and group, 1000:1000.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

echo "--- docker import as $tag"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' - "$tag" >/dev/null
docker image inspect --format '{{.Id}} {{.Size}}' "$tag"
