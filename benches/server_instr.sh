#!/bin/sh
# User-space instructions per pipelined `GET /` in eddy-server, counted by
# callgrind (deterministic, unlike CPU time on a noisy 2-core machine): two
# runs, of 1 600 and 17 600 requests (16 per write, one connection, from
# benches/peers/pipeline_client.py), the difference divided by 16 000, so
# start-up and shutdown cancel out. Kernel time is not counted: compare
# builds of eddy with it, and servers with benches/load.sh.
#   benches/server_instr.sh [EDDY_SERVER_BINARY]
set -eu
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --bin eddy-server >/dev/null 2>&1
    bin=target/release/eddy-server
fi
count() {
    port=$((19000 + $1 % 1000))
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --port "$port" >/dev/null 2>&1 &
    vg=$!
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 150 ] || { echo "eddy-server did not start under valgrind" >&2; kill "$vg"; exit 1; }
        sleep 0.2
    done
    python3 benches/peers/pipeline_client.py "$port" "$1"
    kill -INT "$vg"
    wait "$vg" || true
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
a=$(count 1600)
b=$(count 17600)
echo "eddy-server: $(( (b - a) / 16000 )) user instructions per pipelined request"
