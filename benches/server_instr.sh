#!/bin/sh
# User-space instructions per `GET /` in eddy-server, counted by callgrind
# (deterministic, unlike CPU time on a noisy 2-core machine): two runs, the
# difference divided by the difference in requests, so start-up and
# shutdown cancel out. Pipelined (the default): 1 600 and 17 600 requests,
# 16 per write, one connection (benches/peers/pipeline_client.py).
# Sequential (--sequential): 500 and 3 500 requests, each sent after the
# answer to the one before, so every request also pays for a wake-up, a
# read and a write. Kernel time is not counted: compare builds of eddy
# with it, and servers with benches/load.sh.
#   benches/server_instr.sh [--sequential] [EDDY_SERVER_BINARY]
set -eu
cd "$(dirname "$0")/.."
. benches/peers/callgrind.sh
mode=pipelined
if [ "${1:-}" = "--sequential" ]; then
    mode=sequential
    shift
fi
bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --bin eddy-server >/dev/null 2>&1
    bin=target/release/eddy-server
fi
if [ "$mode" = pipelined ]; then
    a=$(instructions 1600 16 19600 "$bin" --port 19600)
    b=$(instructions 17600 16 19601 "$bin" --port 19601)
    echo "eddy-server: $(( (b - a) / 16000 )) user instructions per pipelined request"
else
    a=$(instructions 500 1 19602 "$bin" --port 19602)
    b=$(instructions 3500 1 19603 "$bin" --port 19603)
    echo "eddy-server: $(( (b - a) / 3000 )) user instructions per sequential request"
fi
