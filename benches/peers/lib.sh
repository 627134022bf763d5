# shellcheck shell=bash
# lib.sh - shell helpers shared by benches/echo_compare.sh, benches/load.sh and
# benches/idle_memory.sh.  Source it; it expects `set -euo pipefail` callers.
#
#   peers_init                    temp dir + EXIT trap that kills our servers
#   build_c NAME                  cc -O2 benches/peers/NAME.c -> $PEER_BIN/NAME
#   start_server LABEL CPU CMD... start CMD (pinned to CPU unless CPU is "-"),
#                                 wait for its "listening on" line; sets
#                                 SERVER_PID.  Returns 1 if it never got ready.
#   stop_server                   kill SERVER_PID and reap it
#   cpu_ticks PID                 utime+stime of the whole process, in ticks
#   cpu_split PID                 "utime stime" of the whole process, in ticks
#   rss_kb PID                    VmRSS in KiB
#   find_eddy_server BUILD        locate/build eddy-server -> EDDY_BIN
#   find_hyper_server BUILD       locate/build the hyper peer -> HYPER_BIN
#   next_port                     PORT = next port above PORT nobody listens on
#   keep_servers LIST             drop entries of SERVERS not in LIST
#   wants NAME                    true unless --only ($ONLY) leaves NAME out

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$PEERS_DIR/../.." && pwd)
PEER_BIN="$REPO_ROOT/target/peers"      # build output, never committed
# shellcheck disable=SC2034  # used by the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)
SERVER_PID="" SERVER_LABEL=""
READY_TIMEOUT=${READY_TIMEOUT:-20}      # seconds to wait for "listening on"
_PEER_PIDS=()

peers_init() {
    PEERS_TMP=$(mktemp -d /tmp/eddy-bench.XXXXXX)
    trap peers_cleanup EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$PEER_BIN"
}

peers_cleanup() {
    local p
    for p in "${_PEER_PIDS[@]}"; do  # only servers we started, still running
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${_PEER_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    [[ -n "${PEERS_TMP:-}" ]] && rm -rf "$PEERS_TMP"
}

build_c() {
    local name=$1
    cc -O2 -Wall -Wextra -o "$PEER_BIN/$name" "$PEERS_DIR/$name.c"
}

# start_server LABEL CPU CMD...
start_server() {
    local label=$1 cpu=$2; shift 2
    local fifo="$PEERS_TMP/ready.$label.$$.$RANDOM" line="" fd
    mkfifo "$fifo"
    if [[ "$cpu" == "-" ]]; then
        "$@" >"$fifo" 2>"$PEERS_TMP/$label.stderr" &
    else
        taskset -c "$cpu" "$@" >"$fifo" 2>"$PEERS_TMP/$label.stderr" &
    fi
    SERVER_PID=$!          # taskset execs the command, so this is the server
    SERVER_LABEL=$label
    _PEER_PIDS+=("$SERVER_PID")
    exec {fd}<"$fifo"
    rm -f "$fifo"
    # Synchronise on the ready line itself (read blocks until the server
    # prints it, or gives up after READY_TIMEOUT seconds / on EOF).
    local deadline=$((SECONDS + READY_TIMEOUT))
    while (( SECONDS < deadline )); do
        if ! IFS= read -r -t "$READY_TIMEOUT" -u "$fd" line; then
            break
        fi
        if [[ "$line" == *"listening on"* ]]; then
            # keep draining stdout so later output can never block the server
            cat <&"$fd" >>"$PEERS_TMP/$label.stdout" &
            exec {fd}<&-
            return 0
        fi
    done
    exec {fd}<&-
    echo "!! $label did not print 'listening on' within ${READY_TIMEOUT}s; stderr:" >&2
    sed 's/^/   /' "$PEERS_TMP/$label.stderr" >&2 || true
    stop_server
    return 1
}

stop_server() {
    [[ -z "$SERVER_PID" ]] && return 0
    # SIGTERM, then SIGKILL if it has not exited within 5 s.  (Our child
    # stays a zombie, state Z, until we reap it with wait.)
    kill "$SERVER_PID" 2>/dev/null || true
    local i state=""
    for ((i = 0; i < 100; i++)); do
        state=$(_proc_state "$SERVER_PID")
        [[ -z "$state" || "$state" == Z ]] && break
        sleep 0.05
    done
    if [[ -n "$state" && "$state" != Z ]]; then
        echo "!! $SERVER_LABEL (pid $SERVER_PID, state $state) still running 5 s after SIGTERM; sending SIGKILL"
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    local keep=() p
    for p in "${_PEER_PIDS[@]}"; do [[ "$p" != "$SERVER_PID" ]] && keep+=("$p"); done
    _PEER_PIDS=("${keep[@]+"${keep[@]}"}")
    SERVER_PID=""
}

next_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        PORT=$((PORT + 1))
        # a successful connect means someone is already listening there
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    done
    echo "no free port found below $PORT" >&2
    return 1
}

wants() { [[ -z "$ONLY" || " $ONLY " == *" $1 "* ]]; }  # wants NAME: selected by --only?

keep_servers() {
    [[ -z "$1" ]] && return 0
    local keep=() s
    for s in "${SERVERS[@]}"; do [[ " $1 " == *" $s "* ]] && keep+=("$s"); done
    SERVERS=("${keep[@]+"${keep[@]}"}")
    (( ${#SERVERS[@]} )) || { echo "no servers left to run (--only \"$1\")" >&2; exit 2; }
}

_proc_state() { # state letter from /proc/PID/stat, or "" if gone
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    echo "${s%% *}"
}

cpu_split() {
    # As cpu_ticks, the two apart: user and system time.
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    awk '{ print $12, $13 }' <<<"$s"
}

cpu_ticks() {
    # /proc/PID/stat: field 2 (comm) may contain spaces, so cut after the
    # last ')'; utime and stime are then fields 12 and 13 (14/15 overall).
    # For the process (not a /task/ entry) they cover all of its threads.
    # Fails (status 1) if the process is gone.
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    awk '{ print $12 + $13 }' <<<"$s"
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# find_eddy_server BUILD -> EDDY_BIN = path of eddy-server, or "" (with a
# message saying why eddy is skipped).  EDDY_SERVER=path overrides; else, if
# the workspace has an eddy-server bin target, BUILD=1 builds it with
# `cargo build --release --bin eddy-server`.
find_eddy_server() {
    local build=$1
    EDDY_BIN=${EDDY_SERVER:-"$REPO_ROOT/target/release/eddy-server"}
    if [[ -n "${EDDY_SERVER:-}" ]]; then
        :
    elif [[ -f "$REPO_ROOT/src/bin/eddy-server.rs" || -f "$REPO_ROOT/src/bin/eddy-server/main.rs" ]] ||
         grep -rqs --include=Cargo.toml --exclude-dir=target 'name *= *"eddy-server"' "$REPO_ROOT"; then
        if (( build )); then
            echo "== cargo build --release --bin eddy-server"
            if ! (cd "$REPO_ROOT" && cargo build --release --bin eddy-server); then
                echo "!! eddy-server failed to build; skipping eddy"
                EDDY_BIN=""
                return 0
            fi
        fi
    else
        echo "!! there is no eddy-server binary target yet; skipping eddy (comparing C and Node only)"
        EDDY_BIN=""
        return 0
    fi
    if [[ ! -x "$EDDY_BIN" ]]; then
        echo "!! $EDDY_BIN not found; skipping eddy"
        EDDY_BIN=""
    fi
}

# find_hyper_server BUILD -> HYPER_BIN = path of the hyper peer
# (benches/peers/hyper/, its own Cargo workspace), or "" (with a message
# saying why hyper is skipped).  HYPER_SERVER=path overrides; else BUILD=1
# builds it with `cargo build --release --manifest-path
# benches/peers/hyper/Cargo.toml --target-dir target/peers/hyper` (the first
# build fetches hyper and tokio from crates.io and takes about a minute).
find_hyper_server() {
    local build=$1
    HYPER_BIN=${HYPER_SERVER:-"$PEER_BIN/hyper/release/hyper_peer"}
    if [[ -z "${HYPER_SERVER:-}" ]] && (( build )); then
        echo "== cargo build --release --manifest-path benches/peers/hyper/Cargo.toml --target-dir target/peers/hyper"
        if ! (cd "$REPO_ROOT" && cargo build --release --manifest-path benches/peers/hyper/Cargo.toml \
                --target-dir "$PEER_BIN/hyper"); then
            echo "!! the hyper peer failed to build; skipping hyper"
            HYPER_BIN=""
            return 0
        fi
    fi
    if [[ ! -x "$HYPER_BIN" ]]; then
        echo "!! $HYPER_BIN not found; skipping hyper"
        HYPER_BIN=""
    fi
}

# The HTTP hello servers compared by load.sh and idle_memory.sh: eddy-server
# (if built, or buildable when BUILD=1), the C peer, hyper (built when BUILD=1)
# and Node. Fills SERVERS (filtered by --only) and defines server_cmd for them.
http_servers() { # http_servers BUILD ONLY
    SERVERS=()
    if wants eddy; then
        find_eddy_server "$1"
        [[ -n "$EDDY_BIN" ]] && SERVERS+=(eddy)
    fi
    # eddy-server --metrics (loop metrics recording), only when asked for
    # by name: its cost against plain eddy, which records none.
    if [[ " ${2:-} " == *" eddy-metrics "* ]]; then
        [[ -z "${EDDY_BIN:-}" ]] && find_eddy_server "$1"
        [[ -n "$EDDY_BIN" ]] && SERVERS+=(eddy-metrics)
    fi
    SERVERS+=(c)
    if wants hyper; then
        find_hyper_server "$1"
        [[ -n "$HYPER_BIN" ]] && SERVERS+=(hyper)
    fi
    if wants node; then
        if command -v node >/dev/null; then SERVERS+=(node); else echo "!! node not found; skipping Node"; fi
    fi
    keep_servers "$2"
}

server_cmd() { # server_cmd NAME PORT -> command words in CMD (HTTP servers)
    case $1 in
        eddy) CMD=("$EDDY_BIN" --port "$2") ;;
        eddy-metrics) CMD=("$EDDY_BIN" --port "$2" --metrics) ;;
        c) CMD=("$PEER_BIN/http_epoll" "$2") ;;
        hyper) CMD=("$HYPER_BIN" "$2") ;;
        node) CMD=(node "$PEERS_DIR/http_node.js" "$2") ;;
    esac
}
