#!/usr/bin/env bash
# netplus.sh - eddy-net's zero-copy writes and the loop's memory trimmer,
# measured with examples/netplus_measure.rs (release build).
#
#   benches/netplus.sh [--size-mib N] [--rounds R] [--conns C] [--bytes B] [--no-build]
#
# 1. File sending: a file of N MiB (default 1024, made once in $TMPDIR and
#    read once so it is in the page cache) sent R times (default 2) to one
#    reader over 127.0.0.1, by Stream::send_file and by a plain loop
#    (64 KiB pread into a fresh buffer + write_vec + wait for the drain).
#    Server pinned to CPU 0, reader (a std::net blocking reader) to CPU 1.
#    Reported: MB/s and the server's CPU seconds per GiB; the ratio of the
#    two CPU figures is the result (lower is better for sendfile).
# 2. Slow-read memory: C connections (default 1000) whose reader never
#    reads, B bytes (default 1 MiB) queued on each, written as one shared
#    64 KiB block (write_shared) or copied (write); RSS per connection.
#    Then all are closed and the memory trimmer (enable_memory_trim) gives
#    the burst back: RSS after closing and after the trim.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=1024 ROUNDS=2 CONNS=1000 BYTES=$((1 << 20)) BUILD=1 PORT=${PORT:-18790}
while (($#)); do
    case $1 in
        --size-mib) SIZE_MIB=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --conns) CONNS=$2; shift 2 ;;
        --bytes) BYTES=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

if ((BUILD)); then cargo build --release --example netplus_measure >&2; fi
BIN=target/release/examples/netplus_measure
FILE=${TMPDIR:-/tmp}/eddy-netplus-${SIZE_MIB}m.bin
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" -ne $((SIZE_MIB << 20)) ]; then
    head -c $((SIZE_MIB << 20)) /dev/urandom > "$FILE"
fi
cat "$FILE" > /dev/null # into the page cache

need=$((CONNS * 2 + 1024))
if (( $(ulimit -n) < need )); then ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; fi

echo "== file: ${SIZE_MIB} MiB x ${ROUNDS} to one reader over 127.0.0.1 =="
for mode in sendfile copy sendfile copy; do
    taskset -c 0 "$BIN" serve-file "$PORT" "$FILE" "$mode" "$ROUNDS" > /tmp/netplus-serve.$$ &
    server=$!
    until grep -q serving /tmp/netplus-serve.$$ 2>/dev/null; do sleep 0.05; done
    taskset -c 1 "$BIN" read "127.0.0.1:$PORT" > /dev/null
    wait "$server"
    grep -v serving /tmp/netplus-serve.$$
    PORT=$((PORT + 1))
done
rm -f /tmp/netplus-serve.$$

echo "== slow readers: ${CONNS} connections x ${BYTES} bytes unread =="
for mode in shared copy; do
    "$BIN" memory "$CONNS" "$BYTES" "$mode"
done
