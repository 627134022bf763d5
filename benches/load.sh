#!/usr/bin/env bash
# load.sh - side-by-side HTTP/1.1 "hello" load test: eddy-server vs a minimal
# C epoll server vs hyper 1.x vs Node's `http` (issues 7 and 11).
#
#   benches/load.sh [--rounds N] [--duration SECS] [--warmup SECS]
#                   [--conns N] [--depth N] [--no-build] [--only "eddy c hyper node"] [--port BASE]
#
# Servers (all answer GET / with the same 176-byte response, Date aside;
# checked before the runs by benches/peers/resp_check.py):
#   eddy  target/release/eddy-server --port PORT  (built with
#         `cargo build --release --bin eddy-server` when that target exists;
#         skipped with a message otherwise.  Override with EDDY_SERVER=path.)
#   C     benches/peers/http_epoll.c, built into target/peers/
#   hyper benches/peers/hyper/ (hyper 1.x, current-thread tokio,
#         pipeline_flush), its own Cargo workspace, built with
#         `cargo build --release --manifest-path benches/peers/hyper/Cargo.toml
#         --target-dir target/peers/hyper` unless --no-build.  Override with
#         HYPER_SERVER=path.
#   node  benches/peers/http_node.js
#   eddy-metrics  eddy-server --metrics (loop metrics recorded), run only
#         when --only names it: the cost of the metrics against eddy, e.g.
#         --only "eddy eddy-metrics c" (goal: at most 2% more CPU per request)
# Each server is started fresh for every run, pinned to CPU 0; wrk (installed
# from Debian's packages if missing) runs pinned to CPU 1 with one thread and
# 64 connections, first plain, then with 16 pipelined requests per write
# (benches/peers/pipeline.lua).  A short warm-up run precedes each measured
# run.  Rounds are interleaved (eddy C hyper node, eddy C hyper node, ...).
# Reported: medians of req/s and of the server's CPU time per request
# (utime+stime from /proc/PID/stat over the measured run / requests wrk
# completed), with ratios to the C server and eddy's ratios to hyper and Node.
# CPU per request is the figure to trust on a shared machine.
# Defaults (3 rounds x 5 s) take about 3 minutes (plus hyper's first build).
# --only "eddy c hyper" runs a subset of the servers (names: eddy, c, hyper, node).
set -euo pipefail
# shellcheck source=peers/lib.sh
source "$(dirname "$0")/peers/lib.sh"

ROUNDS=3 DURATION=5 WARMUP=1 CONNS=64 DEPTH=16 BUILD=1 ONLY="" PORT=${PORT:-18600}
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --conns) CONNS=$2; shift 2 ;;
        --depth) DEPTH=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
(( $(nproc) >= 2 )) || echo "warning: fewer than 2 CPUs; pinning will overlap" >&2

if ! command -v wrk >/dev/null; then
    echo "== installing wrk (apt-get install -y wrk)"
    (apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }) >/dev/null
fi

peers_init
echo "== building C peer into $PEER_BIN"
build_c http_epoll

http_servers "$BUILD" "$ONLY"

# Same bytes from everyone?  A server that answers differently is still
# measured, but flagged.
echo "== response check (GET /, two pipelined requests, Date masked)"
for srv in "${SERVERS[@]}"; do
    next_port
    server_cmd "$srv" "$PORT"
    if start_server "$srv" 0 "${CMD[@]}"; then
        printf '   %-5s ' "$srv"
        python3 "$PEERS_DIR/resp_check.py" "$PORT" || echo "!! $srv's response differs from the others'"
        stop_server
    fi
done

# run_wrk SECS ARGS... -> wrk output in WRK_OUT; fails if wrk fails
run_wrk() {
    local secs=$1; shift
    WRK_OUT=$(timeout $((secs + 30)) taskset -c 1 wrk -t1 -c"$CONNS" -d"${secs}s" "$@" 2>&1)
}

# bytes in wrk's "N requests in T, X.YYMB read" -> number of bytes
wrk_bytes_read() {
    sed -n 's/.* requests in .*, \([0-9.]*\)\([KMGT]*B\) read.*/\1 \2/p' <<<"$1" |
        awk '{ m = 1; if ($2 == "KB") m = 2^10; if ($2 == "MB") m = 2^20;
               if ($2 == "GB") m = 2^30; if ($2 == "TB") m = 2^40; print $1 * m }'
}

RESULTS="$PEERS_TMP/results.tsv"
: >"$RESULTS"
URL_PATH=/
echo "== ${ROUNDS} rounds x ${DURATION}s (+${WARMUP}s warm-up) x {plain, ${DEPTH}-pipelined} x {${SERVERS[*]}};" \
     "wrk -t1 -c$CONNS on CPU 1, server on CPU 0"
for mode in plain pipelined; do
    if [[ $mode == plain ]]; then scen="plain"; WRK_ARGS=();
    else scen="pipelined x$DEPTH"; WRK_ARGS=(-s "$PEERS_DIR/pipeline.lua"); fi
    for ((round = 1; round <= ROUNDS; round++)); do
        for srv in "${SERVERS[@]}"; do
            next_port
            url="http://127.0.0.1:$PORT$URL_PATH"
            tail_args=(); [[ $mode == pipelined ]] && tail_args=(-- "$DEPTH")
            server_cmd "$srv" "$PORT"
            start_server "$srv" 0 "${CMD[@]}" || continue
            if (( WARMUP > 0 )) && ! run_wrk "$WARMUP" "${WRK_ARGS[@]}" "$url" "${tail_args[@]}"; then
                echo "!! warm-up against $srv failed: $WRK_OUT"; stop_server; continue
            fi
            t0=$(cpu_ticks "$SERVER_PID") || { echo "!! $srv exited early"; stop_server; continue; }
            if ! run_wrk "$DURATION" "${WRK_ARGS[@]}" "$url" "${tail_args[@]}"; then
                echo "!! wrk against $srv failed (round $round, $scen): $WRK_OUT"; stop_server; continue
            fi
            t1=$(cpu_ticks "$SERVER_PID") ||
                { echo "!! $srv exited during the run (round $round, $scen); run discarded"; stop_server; continue; }
            stop_server
            reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$WRK_OUT")
            rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$WRK_OUT")
            if [[ -z "$reqs" || -z "$rps" || "$reqs" == 0 ]]; then
                echo "!! could not parse wrk's output for $srv:"; echo "$WRK_OUT"; continue
            fi
            # wrk counts parsed responses; cross-check with bytes read / 176.
            per=$(awk -v b="$(wrk_bytes_read "$WRK_OUT")" -v r="$reqs" 'BEGIN { printf "%.0f", b / r }')
            note=""
            grep -q 'Socket errors\|Non-2xx' <<<"$WRK_OUT" &&
                note=" [$(grep -o 'Socket errors.*\|Non-2xx.*' <<<"$WRK_OUT" | tr '\n' ' ')]"
            (( per < 170 || per > 182 )) && note+=" [bytes read per request = $per, expected 176]"
            us=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
                'BEGIN { printf "%.3f", (t / hz) / n * 1e6 }')
            printf '%s\t%s\t%s\t%s\t%s\n' "$scen" "$srv" "$round" "$rps" "$us" >>"$RESULTS"
            busy=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$DURATION" 'BEGIN { printf "%.0f", t / hz / s * 100 }')
            printf '   %-15s %-5s round %d: %10.0f req/s  %7.3f CPU us/req  (server busy %s%%)%s\n' \
                "$scen" "$srv" "$round" "$rps" "$us" "$busy" "$note"
        done
    done
done

echo
echo "== HTTP GET /, wrk -t1 -c$CONNS, ${DURATION}s runs, medians of $ROUNDS rounds"
python3 "$PEERS_DIR/report.py" "$RESULTS" --rate-unit req/s --cpu-unit us/req \
    --rate-digits 0 --cpu-digits 3 \
    --goal "pipelined x$DEPTH:rate:eddy/c:>=:0.9" \
    --goal "plain:cpu:eddy/c:<=:1.1" \
    --goal "pipelined x$DEPTH:rate:eddy/node:>=:5" \
    --goal "pipelined x$DEPTH:cpu:eddy/c:<=:1.3" \
    --goal "pipelined x$DEPTH:cpu:eddy/hyper:<=:0.75" \
    --goal "plain:cpu:eddy-metrics/eddy:<=:1.02" \
    --goal "pipelined x$DEPTH:cpu:eddy-metrics/eddy:<=:1.02"
