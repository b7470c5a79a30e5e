# Sourced by the image scripts: picks the base image for a build.
#
# base_image: prints IMAGE_BASE when set; else node:24-slim when it is here or
# a registry gives it (60 s at most); else kinesis-gateway-base:local, built
# here without a registry (scripts/build-base-image.sh) when missing.
base_image() {
  if [[ -n "${IMAGE_BASE:-}" ]]; then
    echo "$IMAGE_BASE"
  elif docker image inspect node:24-slim >/dev/null 2>&1 ||
    timeout 60 docker pull -q node:24-slim >/dev/null 2>&1; then
    echo node:24-slim
  else
    local built=kinesis-gateway-base:local
    echo "--- no registry gives node:24-slim: the base is $built, built here" >&2
    docker image inspect "$built" >/dev/null 2>&1 || scripts/build-base-image.sh "$built" >&2
    echo "$built"
  fi
}
