#!/usr/bin/env bash
# Installs what the build, clippy and the test suite need (Debian packages, and upstream BIRD
# 1.6.8 unpacked beside the build) when missing. Idempotent; tests/run.sh and .ci/run call it.
# Needs root (or sudo) for apt.
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

# Upstream BIRD 1.6.8 runs Calico's own config in tests/calico_bird16.rs. Debian's `bird`
# package conflicts with bird2, so it is unpacked beside the build instead of installed.
if [ ! -x target/bird-1.6/usr/sbin/bird ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download bird >/dev/null 2>&1 || { $SUDO apt-get update -qq && apt-get download bird >/dev/null; })
  mkdir -p target/bird-1.6
  dpkg-deb -x "$tmp"/bird_*.deb target/bird-1.6
  rm -rf "$tmp"
fi
