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
. benches/peers/callgrind.sh
up=19701
target/peers/http_epoll "$up" >/dev/null 2>&1 &
upstream=$!
trap 'kill "$upstream" 2>/dev/null' EXIT
wait_port "$up"
proxy() {
    instructions "$1" 1 "$2" "$bin" --port "$2" --upstream "http://127.0.0.1:$up"
}
a=$(proxy 500 19710)
b=$(proxy 3500 19711)
echo "examples/proxy: $(( (b - a) / 3000 )) user instructions per proxied request"
