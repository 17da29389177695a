#!/usr/bin/env bash
# Starts a throw-away single-node Garage (a real S3 implementation we did not write) on
# 127.0.0.1 in a temp dir, with one key and one bucket. Source it: it exports the
# PARTWAY_TEST_S3_* settings; call `garage_stop` when done.
set -euo pipefail
GARAGE_DIR=$(mktemp -d /tmp/partway-garage.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
GARAGE_RPC=$(free_port); GARAGE_S3=$(free_port); GARAGE_ADMIN=$(free_port)
cat > "$GARAGE_DIR/garage.toml" <<TOML
metadata_dir = "$GARAGE_DIR/meta"
data_dir = "$GARAGE_DIR/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$GARAGE_RPC"
rpc_public_addr = "127.0.0.1:$GARAGE_RPC"
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$GARAGE_S3"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$GARAGE_ADMIN"
admin_token = "$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
TOML
g() { garage -c "$GARAGE_DIR/garage.toml" "$@"; }
RUST_LOG=warn garage -c "$GARAGE_DIR/garage.toml" server >"$GARAGE_DIR/log" 2>&1 &
GARAGE_PID=$!
for _ in $(seq 1 100); do
  g status >/dev/null 2>&1 && break
  sleep 0.2
done
NODE=$(g node id -q | cut -c1-16)
g layout assign -z dc1 -c 1G "$NODE" >/dev/null
g layout apply --version 1 >/dev/null
KEY_OUT=$(g key create partway-test)
g bucket create partway-test >/dev/null
g bucket allow --read --write --owner partway-test --key partway-test >/dev/null
export PARTWAY_TEST_S3_ENDPOINT="http://127.0.0.1:$GARAGE_S3"
export PARTWAY_TEST_S3_REGION=garage
export PARTWAY_TEST_S3_BUCKET=partway-test
PARTWAY_TEST_S3_ACCESS_KEY_ID=$(echo "$KEY_OUT" | grep -i 'key id' | head -1 | awk '{print $NF}')
PARTWAY_TEST_S3_SECRET_ACCESS_KEY=$(echo "$KEY_OUT" | grep -i 'secret key' | head -1 | awk '{print $NF}')
export PARTWAY_TEST_S3_ACCESS_KEY_ID PARTWAY_TEST_S3_SECRET_ACCESS_KEY
garage_stop() {
  kill "$GARAGE_PID" 2>/dev/null || true
  wait "$GARAGE_PID" 2>/dev/null || true
  rm -rf "$GARAGE_DIR"
}
echo "garage: $PARTWAY_TEST_S3_ENDPOINT bucket $PARTWAY_TEST_S3_BUCKET key $PARTWAY_TEST_S3_ACCESS_KEY_ID"
