#!/usr/bin/env bash
# files.sh - a large file served by `eddy-server --root` against nginx's
# `sendfile on` (issue 12), both on loopback, fetched by curl.
#
#   flock /tmp/eddy-bench.lock benches/files.sh [--size-mib N] [--rounds R] [--no-build]
#
# A file of N MiB (default 1024) is made in a fresh directory under /tmp
# and read once (page cache), then deleted at the end. Both servers run
# pinned to CPU 0 (nginx: one worker, daemon off, temp config, pid and
# logs in the temp dir); curl -o /dev/null fetches the file pinned to
# CPU 1, R rounds (default 3) interleaved eddy, nginx, eddy, nginx, ...
# Reported per fetch: MB/s and the server's CPU seconds per GiB (the run
# time in /proc/PID/task/*/schedstat before and after, every thread;
# nginx's master and worker summed); at the end the medians, the ratios eddy/nginx, and each
# server's peak RSS (VmHWM; nginx's worker). Goal (issue 12): CPU per GiB
# <= 1.1x nginx's, eddy's peak RSS < 16 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=1024 ROUNDS=3 BUILD=1
EPORT=${EPORT:-18801} NPORT=${NPORT:-18802}
while (($#)); do
    case $1 in
        --size-mib) SIZE_MIB=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
if ((BUILD)); then cargo build --release --bin eddy-server >&2; fi
NGINX=${NGINX:-/usr/sbin/nginx}

T=$(mktemp -d /tmp/eddy-files-bench.XXXXXX)
EPID="" NPID=""
cleanup() {
    [ -n "$EPID" ] && kill "$EPID" 2>/dev/null || true
    [ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/root" "$T/nginx"
chmod 755 "$T" # mktemp makes it 0700; nginx's worker runs as nobody
head -c $((SIZE_MIB << 20)) /dev/zero > "$T/root/big.bin"
cat "$T/root/big.bin" > /dev/null # into the page cache

cat > "$T/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $T/root;
    }
}
CONF

taskset -c 0 target/release/eddy-server --port "$EPORT" --root "$T/root" > "$T/eddy.out" &
EPID=$!
taskset -c 0 "$NGINX" -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" &
NPID=$!
until grep -q listening "$T/eddy.out" 2>/dev/null; do sleep 0.05; done
until curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$NPORT/big.bin"; do sleep 0.05; done
NWORKER=$(pgrep -P "$NPID" | head -1)

# CPU time in nanoseconds, from each thread's schedstat (the run time the
# scheduler accounted; /proc/PID/stat's ticks are 10 ms, too coarse for the
# fraction of a second a GiB costs).
cpu_ns() { # every thread of each pid given, summed
    local p
    for p in "$@"; do cat /proc/"$p"/task/*/schedstat; done | awk '{t += $1} END {printf "%.0f", t}'
}
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

declare -a E_CPU E_MBS N_CPU N_MBS
fetch() { # name port pids...
    local name=$1 port=$2; shift 2
    local before after out
    before=$(cpu_ns "$@")
    out=$(taskset -c 1 curl -s -o /dev/null -w '%{size_download} %{speed_download}' \
        "http://127.0.0.1:$port/big.bin")
    after=$(cpu_ns "$@")
    read -r size speed <<< "$out"
    [ "$size" -eq $((SIZE_MIB << 20)) ] || { echo "$name: got $size bytes" >&2; exit 1; }
    local cpu mbs
    cpu=$(awk -v d=$((after - before)) -v mib="$SIZE_MIB" \
        'BEGIN {printf "%.4f", d / 1e9 / (mib / 1024)}')
    mbs=$(awk -v s="$speed" 'BEGIN {printf "%.0f", s / 1e6}')
    printf '%-6s %6s MB/s  %s CPU s/GiB\n' "$name" "$mbs" "$cpu"
    if [ "$name" = eddy ]; then E_CPU+=("$cpu"); E_MBS+=("$mbs"); else N_CPU+=("$cpu"); N_MBS+=("$mbs"); fi
}

echo "== ${SIZE_MIB} MiB file, ${ROUNDS} rounds, servers on CPU 0, curl on CPU 1 =="
for ((r = 0; r < ROUNDS; r++)); do
    fetch eddy "$EPORT" "$EPID"
    fetch nginx "$NPORT" "$NPID" "$NWORKER"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ec=$(median "${E_CPU[@]}") nc=$(median "${N_CPU[@]}")
em=$(median "${E_MBS[@]}") nm=$(median "${N_MBS[@]}")
erss=$(hwm_kb "$EPID") nrss=$(hwm_kb "$NWORKER")
echo "== medians =="
echo "eddy:  $em MB/s, $ec CPU s/GiB, peak RSS $((erss / 1024)) MB ($erss kB)"
echo "nginx: $nm MB/s, $nc CPU s/GiB, peak RSS (worker) $((nrss / 1024)) MB ($nrss kB)"
awk -v ec="$ec" -v nc="$nc" -v em="$em" -v nm="$nm" 'BEGIN {
    printf "ratio eddy/nginx: CPU per GiB %.2fx (goal <= 1.1x), MB/s %.2fx\n", (nc > 0 ? ec / nc : 0), (nm > 0 ? em / nm : 0)
}'
