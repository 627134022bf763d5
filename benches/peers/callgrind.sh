# callgrind.sh - sourced by benches/server_instr.sh and benches/proxy_instr.sh
# (POSIX sh): run a server under callgrind, drive it with
# peers/pipeline_client.py, print the instructions it ran.

# wait_port PORT: until something accepts on 127.0.0.1:PORT (at most 30 s:
# valgrind starts slowly).
wait_port() {
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1)).close()" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 150 ] || { echo "nothing listens on port $1" >&2; return 1; }
        sleep 0.2
    done
}

# instructions COUNT DEPTH PORT CMD...: start CMD (listening on PORT) under
# callgrind, send it COUNT `GET /`, DEPTH a write, end it with SIGTERM
# (a background job in sh ignores SIGINT; callgrind writes its counts as
# the signal ends the program, or as a server shuts down on it), and print
# the user instructions it ran.
instructions() {
    count=$1 depth=$2 port=$3
    shift 3
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1 &
    vg=$!
    wait_port "$port" || { kill "$vg"; return 1; }
    python3 benches/peers/pipeline_client.py "$port" "$count" "$depth"
    kill -TERM "$vg"
    wait "$vg" 2>/dev/null || true
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
