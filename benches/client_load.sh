#!/usr/bin/env bash
# client_load.sh - keep-alive GET throughput of eddy's HTTP client vs Node's
# `http` client, against the same fixed-response server (issue 6).
#
#   benches/client_load.sh [--rounds N] [--duration SECS] [--warmup SECS]
#                          [--pool N] [--no-build] [--only "eddy node"] [--port BASE]
#                          [--quiet-wait SECS] [--retries N] [--next-on close|end]
#
# Clients (each keeps N GETs in flight over one keep-alive Agent with
# maxSockets N; every request's close -- or with --next-on end, its
# response's end -- issues the next request):
#   eddy  examples/client_load.rs, built with
#         `cargo build --release --example client_load` unless --no-build
#         (honours CARGO_TARGET_DIR).  Override the binary with
#         EDDY_CLIENT=path (default target/release/examples/client_load,
#         under $CARGO_TARGET_DIR when that is set).
#   node  benches/peers/client_node.js (http.Agent({ keepAlive: true, maxSockets }))
#   eddy-base  only when EDDY_BASE_CLIENT=path is set: another build of
#         examples/client_load (say, of an earlier commit), measured in the
#         same run to give the cost of a change as "eddy / eddy-base".
#         Issue 16 measured its reuse check this way: with --next-on close
#         each request takes its socket in a later loop pass than the last
#         read (one recv(MSG_PEEK) per request); with --next-on end the
#         socket is handed over in the pass that read it (no syscall).
# Server: benches/peers/http_epoll.c (the C peer of load.sh, built into
# target/peers/), started fresh for every run and pinned to CPU 0.  Clients
# run pinned to CPU 1.  Scenarios: 1 socket with 1 request in flight, and a
# pool of --pool sockets (default 64) with as many in flight.  Each run has
# a warm-up (default 1 s, not measured) then a measured part of --duration
# seconds (default 5); rounds are interleaved (eddy node, eddy node, ...).
# Each client reports its own figures for the measured part: responses
# completed, wall time, and its CPU time (getrusage / process.cpuUsage, user
# + system).  Reported: medians of req/s and of the client's CPU µs per
# request, with the ratios eddy ÷ Node.  CPU per request is the figure to
# trust on a shared machine.  Before each run the script waits (up to
# --quiet-wait seconds, default 60; 0: no wait) until the machine is idle
# (< 5% of its CPU busy over 1 s), and each run's line shows how much CPU
# other processes used meanwhile ("others", % of one CPU).  A run where it
# exceeds 10% is not counted and run again, up to --retries times (default
# 2; the last try is counted, flagged).  Defaults (3 rounds x 2 scenarios x 2 clients x
# 6 s) take about 90 s on an idle machine.
set -euo pipefail
# shellcheck source=peers/lib.sh
source "$(dirname "$0")/peers/lib.sh"

ROUNDS=3 DURATION=5 WARMUP=1 POOL=64 BUILD=1 ONLY="" PORT=${PORT:-18700} QUIET_WAIT=60 RETRIES=2 NEXT_ON=close
# shellcheck disable=SC2034  # ONLY is read by wants (peers/lib.sh)
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --pool) POOL=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
        --retries) RETRIES=$2; shift 2 ;;
        --next-on) NEXT_ON=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
(( $(nproc) >= 2 )) || echo "warning: fewer than 2 CPUs; pinning will overlap" >&2

peers_init
echo "== building C peer into $PEER_BIN"
build_c http_epoll

EDDY_CLIENT=${EDDY_CLIENT:-"${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/examples/client_load"}
CLIENTS=()
if wants eddy; then
    if (( BUILD )); then
        echo "== cargo build --release --example client_load"
        (cd "$REPO_ROOT" && cargo build --release --example client_load)
    fi
    if [[ -x "$EDDY_CLIENT" ]]; then CLIENTS+=(eddy); else echo "!! $EDDY_CLIENT not found; skipping eddy"; fi
fi
if [[ -n "${EDDY_BASE_CLIENT:-}" ]] && wants eddy-base; then
    if [[ -x "$EDDY_BASE_CLIENT" ]]; then CLIENTS+=(eddy-base); else echo "!! $EDDY_BASE_CLIENT not found; skipping eddy-base"; fi
fi
if wants node; then
    if command -v node >/dev/null; then CLIENTS+=(node); else echo "!! node not found; skipping Node"; fi
fi
(( ${#CLIENTS[@]} )) || { echo "no clients to run" >&2; exit 2; }

client_cmd() { # client_cmd NAME -> command words in CMD
    case $1 in
        eddy) CMD=("$EDDY_CLIENT") ;;
        node) CMD=(node "$PEERS_DIR/client_node.js") ;;
        eddy-base) CMD=("$EDDY_BASE_CLIENT") ;;
    esac
}

# busy_ticks -> "BUSY TOTAL": jiffies of all CPUs from /proc/stat; busy is
# user + nice + system, what processes' utime + stime add up to (time in
# interrupts and softirqs, much of it our own loopback traffic, is left out).
busy_ticks() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4, t }' /proc/stat
}

# child_cpu_ticks -> CHILD_TICKS = CPU time of this shell's reaped children,
# in ticks (bash's `times`, second line: user and system).  `times` must run
# in this shell, not in a $(...) subshell, which has no children of its own.
child_cpu_ticks() {
    times >"$PEERS_TMP/times"
    CHILD_TICKS=$(sed -n 2p "$PEERS_TMP/times" | awk -v hz="$CLK_TCK" '{
        s = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); s += p[1] * 60 + p[2] }
        printf "%.0f", s * hz }')
}

# wait_quiet: up to QUIET_WAIT s until < 5% of the machine's CPU is busy
wait_quiet() {
    local end=$((SECONDS + QUIET_WAIT)) b0 t0 b1 t1
    while (( SECONDS < end )); do
        read -r b0 t0 < <(busy_ticks); sleep 1; read -r b1 t1 < <(busy_ticks)
        (( (b1 - b0) * 100 < 5 * (t1 - t0) )) && return 0
    done
    (( QUIET_WAIT > 0 )) && echo "   (machine still busy after ${QUIET_WAIT}s; running anyway)"
    return 0
}

# field NAME LINE -> value of NAME=... in a client's result line
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

RESULTS="$PEERS_TMP/results.tsv"
: >"$RESULTS"
echo "== ${ROUNDS} rounds x ${DURATION}s (+${WARMUP}s warm-up) x {1 socket, pool of $POOL} x {${CLIENTS[*]}};" \
     "server (C epoll) on CPU 0, client on CPU 1"
# one_run SCENARIO CLIENT CONNS ROUND MAY_RETRY: one run against a fresh
# server; appends to RESULTS and prints a line.  Returns 1 if the run
# failed, 3 if it was noisy and MAY_RETRY (then nothing is recorded).
one_run() {
    local scen=$1 cl=$2 conns=$3 round=$4 may_retry=$5
    local s0 s1 c0 c1 m0 m1 w0 w1 others reqs secs cpu body socks rps us busy sbusy note per
    wait_quiet
    next_port
    start_server c 0 "$PEER_BIN/http_epoll" "$PORT" || return 1
    client_cmd "$cl"
    s0=$(cpu_ticks "$SERVER_PID")
    child_cpu_ticks; c0=$CHILD_TICKS
    read -r m0 _ < <(busy_ticks); w0=$(date +%s%N)
    if ! OUT=$(timeout $((WARMUP + DURATION + 60)) taskset -c 1 "${CMD[@]}" \
            --conns "$conns" --warmup "$WARMUP" --duration "$DURATION" --next-on "$NEXT_ON" \
            "http://127.0.0.1:$PORT/" 2>"$PEERS_TMP/client.stderr"); then
        echo "!! $cl failed ($scen, round $round): $OUT $(cat "$PEERS_TMP/client.stderr")"
        stop_server; return 1
    fi
    s1=$(cpu_ticks "$SERVER_PID") || s1=$s0
    child_cpu_ticks; c1=$CHILD_TICKS
    read -r m1 _ < <(busy_ticks); w1=$(date +%s%N)
    stop_server
    # CPU used by anyone but this client and server during the run,
    # in % of one CPU.
    others=$(awk -v m=$((m1 - m0 - (s1 - s0) - (c1 - c0))) -v hz="$CLK_TCK" \
        -v ns=$((w1 - w0)) 'BEGIN { o = m / hz / (ns / 1e9) * 100; printf "%.0f", o < 0 ? 0 : o }')
    reqs=$(field requests "$OUT") secs=$(field seconds "$OUT") cpu=$(field cpu_us "$OUT")
    body=$(field body_bytes "$OUT") socks=$(field sockets "$OUT")
    if [[ -z "$reqs" || -z "$secs" || -z "$cpu" || "$reqs" == 0 ]]; then
        echo "!! could not parse $cl's output: $OUT"; return 1
    fi
    rps=$(awk -v n="$reqs" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
    us=$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { printf "%.3f", c / n }')
    busy=$(awk -v c="$cpu" -v s="$secs" 'BEGIN { printf "%.0f", c / 1e4 / s }')
    # The server's CPU over warm-up + measured part: is it the limit?
    sbusy=$(awk -v t=$((s1 - s0)) -v hz="$CLK_TCK" -v s="$(( WARMUP + DURATION ))" \
        'BEGIN { printf "%.0f", t / hz / s * 100 }')
    note=""
    # every response has a 13-byte body ("Hello, World!")
    per=$(awk -v b="$body" -v n="$reqs" 'BEGIN { printf "%.1f", b / n }')
    awk -v p="$per" 'BEGIN { exit !(p < 12.5 || p > 13.5) }' && note+=" [body bytes per response = $per, expected 13]"
    (( socks != conns )) && note+=" [$socks sockets opened, expected $conns]"
    local rc=0
    if (( others > 10 )); then
        note+=" [noisy: others used ${others}% of a CPU"
        if (( may_retry )); then note+="; not counted, run again]"; rc=3; else note+="]"; fi
    fi
    (( rc )) || printf '%s\t%s\t%s\t%s\t%s\n' "$scen" "$cl" "$round" "$rps" "$us" >>"$RESULTS"
    printf '   %-12s %-5s round %d: %9.0f req/s  %7.3f CPU us/req  (client busy %s%%, server %s%%, others %s%%)%s\n' \
        "$scen" "$cl" "$round" "$rps" "$us" "$busy" "$sbusy" "$others" "$note"
    return "$rc"
}

for conns in 1 "$POOL"; do
    if (( conns == 1 )); then scen="1 socket"; else scen="pool of $conns"; fi
    for ((round = 1; round <= ROUNDS; round++)); do
        for cl in "${CLIENTS[@]}"; do
            for ((try = 0; ; try++)); do
                rc=0
                one_run "$scen" "$cl" "$conns" "$round" $((try < RETRIES)) || rc=$?
                (( rc == 3 )) || break
            done
        done
    done
done

echo
echo "== keep-alive GET / from the client, C epoll server; ${DURATION}s runs, medians of $ROUNDS rounds"
python3 - "$RESULTS" <<'EOF'
import statistics, sys
data = {}  # scenario -> client -> (rates, cpus)
for line in open(sys.argv[1]):
    scen, cl, _r, rate, cpu = line.rstrip("\n").split("\t")
    d = data.setdefault(scen, {}).setdefault(cl, ([], []))
    d[0].append(float(rate)); d[1].append(float(cpu))
if not data:
    print("no results"); sys.exit(1)
hdr = (f"{'scenario':<12} {'client':<6} {'median req/s':>12} {'min..max':>17} | "
       f"{'CPU us/req':>10} {'min..max':>15} | {'runs':>4}")
print(hdr); print("-" * len(hdr))
goals = []
for scen, cls in data.items():
    med = {}
    for i, cl in enumerate(c for c in ("eddy", "eddy-base", "node") if c in cls):
        r, c = cls[cl]
        med[cl] = (statistics.median(r), statistics.median(c))
        print(f"{scen if i == 0 else '':<12} {cl:<6} {med[cl][0]:>12.0f} "
              f"{f'{min(r):.0f}..{max(r):.0f}':>17} | {med[cl][1]:>10.2f} "
              f"{f'{min(c):.2f}..{max(c):.2f}':>15} | {len(r):>4}")
    if "eddy" in med and "node" in med:
        rr = med["eddy"][0] / med["node"][0]
        cr = med["eddy"][1] / med["node"][1]
        print(f"{'':<12} eddy / Node: {rr:.2f}x the req/s, {cr:.2f}x the CPU per request")
        goals.append((scen, rr))
    if "eddy" in med and "eddy-base" in med:
        rr = med["eddy"][0] / med["eddy-base"][0]
        cr = med["eddy"][1] / med["eddy-base"][1]
        d = med["eddy"][1] - med["eddy-base"][1]
        print(f"{'':<12} eddy / eddy-base: {rr:.2f}x the req/s, {cr:.3f}x the CPU per request ({d:+.3f} us)")
for scen, rr in goals:
    print(f"  {'PASS' if rr >= 3 else 'FAIL'}  {scen}: eddy req/s / Node req/s >= 3  (measured {rr:.2f})")
EOF
