#!/usr/bin/env bash
# echo_compare.sh - side-by-side TCP echo throughput: eddy vs a minimal C
# epoll server vs Node's `net` (issue 3).
#
#   benches/echo_compare.sh [--rounds N] [--duration SECS] [--conns "1 8"] [--chunk BYTES]
#                           [--no-build] [--only "eddy c node"] [--port BASE]
#
# Each round runs every server in turn (eddy, C, node, eddy, C, node, ...):
# the server is pinned to CPU 0 (taskset -c 0) and started fresh; the script
# waits for its "listening on" line, runs benches/peers/echo_load.c pinned to
# CPU 1 for SECS seconds (64 KiB chunks unless --chunk, 4 in flight per
# connection, every echoed byte verified), and records MB/s plus the server's
# CPU time (utime+stime from /proc/PID/stat) per GB echoed.  Then it kills the server.
# Prints one table of medians with ratios to the C server, and the goals
# (eddy >= 0.9x C, >= 3x Node).
#
# eddy's server: target/release/examples/echo --port PORT, which must print a
# line containing "listening on" once it accepts connections.  It is built
# with `cargo build --release --example echo` if examples/echo.rs exists;
# otherwise (or if the build fails) eddy is skipped with a message.
# EDDY_ECHO=path uses that binary instead (no build).
# --only "c node" runs a subset of the servers (names: eddy, c, node).
# The C peers are built into target/peers/.  Defaults take about 2 minutes.
set -euo pipefail
# shellcheck source=peers/lib.sh
source "$(dirname "$0")/peers/lib.sh"

ROUNDS=3 DURATION=5 CONNS="1 8" CHUNK=65536 BUILD=1 ONLY="" PORT=${PORT:-18500}
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --conns) CONNS=$2; shift 2 ;;
        --chunk) CHUNK=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
(( $(nproc) >= 2 )) || echo "warning: fewer than 2 CPUs; pinning will overlap" >&2

peers_init
echo "== building C peers into $PEER_BIN"
build_c echo_epoll
build_c echo_load

SERVERS=()
EDDY_BIN=${EDDY_ECHO:-"$REPO_ROOT/target/release/examples/echo"}
if ! wants eddy; then
    EDDY_BIN=""
elif [[ -n "${EDDY_ECHO:-}" ]]; then
    :  # explicit binary: no build
elif [[ -f "$REPO_ROOT/examples/echo.rs" || -f "$REPO_ROOT/examples/echo/main.rs" ]]; then
    if (( BUILD )); then
        echo "== cargo build --release --example echo"
        if ! (cd "$REPO_ROOT" && cargo build --release --example echo); then
            echo "!! eddy's echo example failed to build; skipping eddy"
            EDDY_BIN=""
        fi
    fi
else
    echo "!! examples/echo.rs does not exist yet; skipping eddy (comparing C and Node only)"
    EDDY_BIN=""
fi
if [[ -n "$EDDY_BIN" ]]; then
    if [[ -x "$EDDY_BIN" ]]; then SERVERS+=(eddy); else echo "!! $EDDY_BIN not found; skipping eddy"; fi
fi
SERVERS+=(c)
if command -v node >/dev/null; then SERVERS+=(node); else
    echo "!! node not found; skipping Node"
fi
keep_servers "$ONLY"

server_cmd() { # server_cmd NAME PORT -> command words in CMD
    case $1 in
        eddy) CMD=("$EDDY_BIN" --port "$2") ;;
        c) CMD=("$PEER_BIN/echo_epoll" "$2") ;;
        node) CMD=(node "$PEERS_DIR/echo_node.js" "$2") ;;
    esac
}

RESULTS="$PEERS_TMP/results.tsv"
: >"$RESULTS"
echo "== ${ROUNDS} rounds x ${DURATION}s x connections {$CONNS} x {${SERVERS[*]}}; servers on CPU 0, load on CPU 1"
for conns in $CONNS; do
    scen="$conns conn"; (( conns > 1 )) && scen+="s"
    for ((round = 1; round <= ROUNDS; round++)); do
        for srv in "${SERVERS[@]}"; do
            next_port
            server_cmd "$srv" "$PORT"
            start_server "$srv" 0 "${CMD[@]}" || continue
            t0=$(cpu_ticks "$SERVER_PID") || { echo "!! $srv exited early"; stop_server; continue; }
            if ! out=$(timeout $((DURATION + 30)) taskset -c 1 \
                    "$PEER_BIN/echo_load" -c "$conns" -d "$DURATION" -b "$CHUNK" "$PORT"); then
                echo "!! load against $srv failed (round $round, $scen): $out"
                stop_server
                continue
            fi
            t1=$(cpu_ticks "$SERVER_PID") ||
                { echo "!! $srv exited during the run (round $round, $scen); run discarded"; stop_server; continue; }
            stop_server
            bytes=$(sed -n 's/.*echoed_bytes=\([0-9]*\).*/\1/p' <<<"$out")
            mbps=$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")
            cpu_per_gb=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v b="$bytes" \
                'BEGIN { printf "%.4f", (t / hz) / (b / 1e9) }')
            printf '%s\t%s\t%s\t%s\t%s\n' "$scen" "$srv" "$round" "$mbps" "$cpu_per_gb" >>"$RESULTS"
            secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
            busy=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", t / hz / s * 100 }')
            printf '   %-8s %-5s round %d: %8.1f MB/s  %6.3f CPU s/GB  (server busy %s%% of the run)\n' \
                "$scen" "$srv" "$round" "$mbps" "$cpu_per_gb" "$busy"
        done
    done
done

echo
echo "== TCP echo, $CHUNK-byte chunks, 4 in flight per connection, ${DURATION}s runs, medians of $ROUNDS rounds"
GOALS=()
for conns in $CONNS; do
    scen="$conns conn"; (( conns > 1 )) && scen+="s"
    GOALS+=(--goal "$scen:rate:eddy/c:>=:0.9" --goal "$scen:rate:eddy/node:>=:3")
done
python3 "$PEERS_DIR/report.py" "$RESULTS" --rate-unit MB/s --cpu-unit s/GB \
    --rate-digits 0 --cpu-digits 3 "${GOALS[@]}"
