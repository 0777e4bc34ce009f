#!/usr/bin/env bash
# perch's main job on the embedded default (YAML files): `perch run` keeps a real BIRD's config
# current for node-1 of containers/example/resources. BIRD runs in its own network namespace
# (so nothing touches this machine's routes); perch serves its status page on 127.0.0.1:9099.
# Edit containers/example/resources/cluster.yaml while it runs and watch BIRD follow.
# Needs root (network namespaces) and Debian; installs bird2 and protoc when missing.
# Ctrl-C stops everything and removes the namespace.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "run this as root: it creates a network namespace for BIRD (and installs packages if missing)" >&2
  exit 1
fi

need=()
command -v bird >/dev/null || need+=(bird2)
command -v protoc >/dev/null || need+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || need+=(libprotobuf-dev)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release --quiet

NS="perch-demo-$$"
DIR="$(mktemp -d /tmp/perch-demo.XXXXXX)"
BIRD_PID=""
cleanup() {
  [ -n "$BIRD_PID" ] && kill "$BIRD_PID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 10.99.0.1/32 dev lo
printf 'router id 10.99.0.1;\nprotocol device {}\n' > "$DIR/bird.conf"
ip netns exec "$NS" bird -f -c "$DIR/bird.conf" -s "$DIR/bird.ctl" > "$DIR/bird.log" 2>&1 &
BIRD_PID=$!
for _ in $(seq 1 100); do [ -S "$DIR/bird.ctl" ] && break; sleep 0.05; done

echo "BIRD is running in namespace $NS; its config is $DIR/bird.conf"
echo "status page: http://127.0.0.1:9099/   (also /status, /metrics, /plan)"
echo "try:  target/release/perch status --bird-socket $DIR/bird.ctl"
echo
target/release/perch run \
  --resources containers/example/resources --node node-1 \
  --config "$DIR/bird.conf" --bird-socket "$DIR/bird.ctl" \
  --http-listen 127.0.0.1:9099
