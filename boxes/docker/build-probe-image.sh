#!/usr/bin/env bash
# Builds the probe image for `lab verify` without a registry: Debian's
# statically linked busybox (package busybox-static) in an image FROM scratch.
#
#   boxes/docker/build-probe-image.sh [IMAGE]
set -euo pipefail

image=${1:-lab/probe:busybox}
here=$(cd "$(dirname "$0")" && pwd)

if docker image inspect "$image" >/dev/null 2>&1 && [ -z "${LAB_REBUILD_IMAGE:-}" ]; then
  echo "image $image already exists (set LAB_REBUILD_IMAGE=1 to rebuild)"
  exit 0
fi
busybox=/bin/busybox
if ! [ -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "need a statically linked $busybox: apt-get install busybox-static" >&2
  exit 1
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/probe/Dockerfile" "$busybox" "$context/"
# The classic builder needs no buildx plugin and no registry for FROM scratch.
DOCKER_BUILDKIT=0 docker build --quiet -t "$image" "$context"
echo "built $image"
