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
. benches/peers/callgrind.sh
bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --bin eddy-server >/dev/null 2>&1
    bin=target/release/eddy-server
fi
a=$(instructions 1600 16 19600 "$bin" --port 19600)
b=$(instructions 17600 16 19601 "$bin" --port 19601)
echo "eddy-server: $(( (b - a) / 16000 )) user instructions per pipelined request"
