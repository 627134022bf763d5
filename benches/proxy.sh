#!/usr/bin/env bash
# proxy.sh - the reverse proxy (examples/proxy.rs) against nginx
# (proxy_pass, upstream keepalive, one worker) and Node
# (benches/peers/proxy_node.js), all in front of the same C upstream
# (benches/peers/http_epoll.c), interleaved rounds.
#
#   flock /tmp/eddy-bench.lock benches/proxy.sh [--rounds N] [--secs S] [--conns C]
#
# wrk and the upstream share CPU 0; the proxy under test runs alone on
# CPU 1. Reported: requests/s and the proxy's CPU µs per request (from
# /proc, utime+stime, and each apart), and the eddy/nginx and node/nginx
# ratios of the former (the goal of issue 12: eddy/nginx <= 0.85), with
# eddy/nginx for user and system time apart (the kernel's share is the
# same TCP work for both: 4 segments and 4 data syscalls a request).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=peers/lib.sh
source benches/peers/lib.sh

ROUNDS=3 SECS=5 CONNS=50
while (($#)); do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --secs) SECS=$2; shift 2 ;;
        --conns) CONNS=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

peers_init
build_c http_epoll
cargo build --release --example proxy -q
PROXY_BIN=target/release/examples/proxy

PORT=19400
next_port; UP=$PORT
start_server upstream 0 "$PEER_BIN/http_epoll" "$UP"
UP_PID=$SERVER_PID; SERVER_PID=""

next_port; NGX_PORT=$PORT
mkdir -p "$PEERS_TMP/nginx/logs"
cat >"$PEERS_TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $PEERS_TMP/nginx/nginx.pid;
error_log $PEERS_TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream up { server 127.0.0.1:$UP; keepalive 64; }
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF

wait_port() {
    local i
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# round LABEL PID PORT: one wrk run; prints "LABEL req/s us/req user sys"
# (the proxy's CPU µs per request, then its user and system parts).
round() {
    local label=$1 pid=$2 port=$3 u0 s0 u1 s1 out reqs
    read -r u0 s0 < <(cpu_split "$pid")
    out=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/")
    read -r u1 s1 < <(cpu_split "$pid")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    awk -v l="$label" -v r="$reqs" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" -v d="$SECS" \
        'BEGIN { printf "%-6s %10.0f req/s %8.2f us/req %7.2f user %7.2f sys\n", l, r / d, (u + s) * 1e6 / hz / r, u * 1e6 / hz / r, s * 1e6 / hz / r }'
}

next_port; EDDY_PORT=$PORT
start_server eddy 1 "$PROXY_BIN" --port "$EDDY_PORT" --upstream "http://127.0.0.1:$UP"
EDDY_PID=$SERVER_PID; SERVER_PID=""
taskset -c 1 nginx -p "$PEERS_TMP/nginx" -c "$PEERS_TMP/nginx/nginx.conf" &
NGX_MASTER=$!
_PEER_PIDS+=("$NGX_MASTER")
wait_port "$NGX_PORT"
NGX_WORKER=$(pgrep -P "$NGX_MASTER" | head -1)
_PEER_PIDS+=("$NGX_WORKER")
next_port; NODE_PORT=$PORT
start_server node 1 node benches/peers/proxy_node.js "$NODE_PORT" "http://127.0.0.1:$UP"
NODE_PID=$SERVER_PID; SERVER_PID=""
wait_port "$NODE_PORT"

# Warm both up, then interleave.
taskset -c 0 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$EDDY_PORT/" >/dev/null
taskset -c 0 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$NGX_PORT/" >/dev/null
taskset -c 0 wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$NODE_PORT/" >/dev/null
results=()
for ((i = 0; i < ROUNDS; i++)); do
    results+=("$(round eddy "$EDDY_PID" "$EDDY_PORT")")
    results+=("$(round nginx "$NGX_WORKER" "$NGX_PORT")")
    results+=("$(round node "$NODE_PID" "$NODE_PORT")")
done
printf '%s\n' "${results[@]}"
printf '%s\n' "${results[@]}" | awk '
    $1 == "eddy"  { e += $4; eu += $6; es += $8; ne++ }
    $1 == "nginx" { n += $4; nu += $6; ns += $8; nn++ }
    $1 == "node"  { d += $4; nd++ }
    END {
        printf "proxy CPU per request, eddy/nginx: %.2f\n", (e / ne) / (n / nn)
        printf "  user time, eddy/nginx: %.2f; system time, eddy/nginx: %.2f\n", (eu / ne) / (nu / nn), (es / ne) / (ns / nn)
        printf "proxy CPU per request, node/nginx: %.2f\n", (d / nd) / (n / nn)
    }'
kill "$UP_PID" "$EDDY_PID" "$NGX_MASTER" "$NGX_WORKER" "$NODE_PID" 2>/dev/null || true
