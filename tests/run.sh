#!/usr/bin/env bash
# Installs what the test suite needs (Debian packages) when missing, then runs every test.
# Usage: tests/run.sh [extra cargo test arguments]
# Needs root (or sudo) for apt and for the network namespaces the BIRD tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v protoc >/dev/null || need+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || need+=(libprotobuf-dev)
command -v bird >/dev/null || need+=(bird2)
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v gobgpd >/dev/null || need+=(gobgpd)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts nothing here (no systemd), but make sure no packaged BIRD holds the default socket.

# Upstream BIRD 1.6.8 runs Calico's own config in tests/calico_bird16.rs. Debian's `bird`
# package conflicts with bird2, so it is unpacked beside the build instead of installed.
if [ ! -x target/bird-1.6/usr/sbin/bird ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download bird >/dev/null 2>&1 || { $SUDO apt-get update -qq && apt-get download bird >/dev/null; })
  mkdir -p target/bird-1.6
  dpkg-deb -x "$tmp"/bird_*.deb target/bird-1.6
  rm -rf "$tmp"
fi

echo "running the test suite ($(nproc) cores)"
cargo test --locked "$@"
