#!/bin/sh
# User-space instructions per proxied request in examples/proxy, counted by
# callgrind (deterministic, unlike CPU time on a noisy 2-core machine), in
# front of the C upstream (benches/peers/http_epoll.c): two runs, of 500
# and 3 500 sequential keep-alive `GET /` on one client connection (from
# benches/peers/pipeline_client.py, one request a write), the difference
# divided by 3 000. Kernel time is not counted: compare builds of eddy
# with it, and proxies with benches/proxy.sh.
#   benches/proxy_instr.sh [PROXY_BINARY]
set -eu
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --example proxy >/dev/null 2>&1
    bin=target/release/examples/proxy
fi
mkdir -p target/peers
cc -O2 -Wall -Wextra -o target/peers/http_epoll benches/peers/http_epoll.c
up=19701
target/peers/http_epoll "$up" >/dev/null 2>&1 &
upstream=$!
trap 'kill "$upstream" 2>/dev/null' EXIT
wait_port() {
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1)).close()" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 150 ] || { echo "nothing listens on port $1" >&2; exit 1; }
        sleep 0.2
    done
}
wait_port "$up"
count() {
    port=$((19710 + $1 % 7))
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --port "$port" \
        --upstream "http://127.0.0.1:$up" >/dev/null 2>&1 &
    vg=$!
    wait_port "$port"
    python3 benches/peers/pipeline_client.py "$port" "$1" 1
    # The example has no signal handler: callgrind writes its counts as
    # the signal ends it (TERM: a background job here ignores INT).
    kill -TERM "$vg"
    wait "$vg" 2>/dev/null || true
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
a=$(count 500)
b=$(count 3500)
echo "examples/proxy: $(( (b - a) / 3000 )) user instructions per proxied request"
