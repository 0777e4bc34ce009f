#!/bin/sh
# Waits for perch's first config, then runs BIRD in the foreground (graceful-restart recovery
# on, as Calico does), with the control socket where perch expects it.
set -eu
CONFIG="${BIRD_CONFIG:-/etc/bird/bird.conf}"
SOCKET="${BIRD_SOCKET:-/run/bird/bird.ctl}"
while [ ! -s "$CONFIG" ]; do
  echo "waiting for perch to write $CONFIG"
  sleep 1
done
exec bird -f -R -c "$CONFIG" -s "$SOCKET" ${BIRD_ARGS:-}
