#!/bin/sh
# Creates the `default` namespace Syncline runs in, once the server answers. Idempotent.
set -eu
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
  echo "waiting for the Temporal server at $TEMPORAL_ADDRESS"
  sleep 2
done
temporal operator namespace describe -n default --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n default --retention 72h --address "$TEMPORAL_ADDRESS"
echo 'namespace default ready'
