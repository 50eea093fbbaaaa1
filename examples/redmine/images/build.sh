#!/usr/bin/env bash
# Builds the sample stack's two images without any image registry, from
# Debian's packages: PostgreSQL 15 (`postgresql`) and Redmine 5.0 (`redmine`,
# `redmine-pgsql`, `puma`). One debootstrap makes the base; each image is
# that base with its packages and entry point, imported with `docker import`.
# Needs root, debootstrap and a Docker engine; reaches only the Debian mirror.
#
#   examples/redmine/images/build.sh [SUITE] [MIRROR]
#
# Then: POSTGRES_IMAGE=lab/postgres:15-bookworm REDMINE_IMAGE=lab/redmine:5.0-bookworm \
#       lab deploy examples/redmine
set -euo pipefail

suite=${1:-bookworm}
mirror=${2:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
postgres=lab/postgres:15-$suite
redmine=lab/redmine:5.0-$suite

missing=()
for image in "$postgres" "$redmine"; do
  if ! docker image inspect "$image" >/dev/null 2>&1 || [ -n "${LAB_REBUILD_IMAGE:-}" ]; then
    missing+=("$image")
  fi
done
if [ ${#missing[@]} = 0 ]; then
  echo "images $postgres and $redmine already exist (set LAB_REBUILD_IMAGE=1 to rebuild)"
  exit 0
fi

work=$(mktemp -d /var/tmp/lab-stack.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase "$suite" "$work/base" "$mirror" >"$work/debootstrap.log" ||
  { cat "$work/debootstrap.log" >&2; exit 1; }
# No service starts inside the build.
printf '#!/bin/sh\nexit 101\n' >"$work/base/usr/sbin/policy-rc.d"
chmod +x "$work/base/usr/sbin/policy-rc.d"
chroot "$work/base" apt-get update -qq

# install ROOT PACKAGES...: the packages, then nothing the image never reads.
install_into() {
  local root=$1
  shift
  chroot "$root" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >"$root.log" 2>&1 ||
    { cat "$root.log" >&2; exit 1; }
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/locale/* "$root/usr/sbin/policy-rc.d"
}

# import ROOT IMAGE ENTRYPOINT PORT: the image, its entry point as its command.
import() {
  install -m 0755 "$here/$3" "$1/usr/local/bin/$3"
  tar -C "$1" -c . | docker import \
    -c "CMD [\"/usr/local/bin/$3\"]" \
    -c "EXPOSE $4" \
    -c 'ENV LANG=C.UTF-8' \
    - "$2" >/dev/null
  echo "built $2"
}

build_postgres() {
  local root=$work/postgres
  cp -a "$work/base" "$root"
  install_into "$root" postgresql
  # The cluster is made on the first start (postgres-entrypoint.sh), and
  # LLVM is for the JIT compiler alone, which the entry point turns off.
  rm -rf "$root"/var/lib/postgresql/15 "$root"/etc/postgresql/15/main \
    "$root"/usr/lib/postgresql/15/lib/llvmjit* "$root"/usr/lib/postgresql/15/lib/bitcode \
    "$root"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* "$root"/usr/lib/x86_64-linux-gnu/libz3.so*
  import "$root" "$postgres" postgres-entrypoint.sh 5432
}

build_redmine() {
  local root=$work/redmine
  cp -a "$work/base" "$root"
  # No database at build time: the entry point configures and migrates one.
  printf '%s\n' \
    'redmine redmine/instances/default/dbconfig-install boolean false' \
    'redmine redmine/instances/default/database-type select pgsql' |
    chroot "$root" debconf-set-selections
  install_into "$root" redmine redmine-pgsql puma
  # Debian's Redmine is served by Passenger; Puma joins its bundle here.
  echo 'gem "puma"' >"$root/usr/share/redmine/Gemfile.local"
  chroot "$root" sh -c 'cd /usr/share/redmine && bundle install --local --quiet &&
    chown www-data:www-data /var/lib/redmine/Gemfile.lock'
  # The secret the package made is this build's: each container makes its own.
  rm -f "$root"/etc/redmine/default/secret_key.txt "$root"/etc/redmine/default/database.yml \
    "$root"/etc/dbconfig-common/redmine/instances/default.conf
  import "$root" "$redmine" redmine-entrypoint.sh 3000
}

for image in "${missing[@]}"; do
  case "$image" in
    "$postgres") build_postgres ;;
    "$redmine") build_redmine ;;
  esac
done
