#!/usr/bin/env bash
# Differential harness: the scenarios of scenarios.c on libuv (Debian's
# libuv1-dev) and of eddy/src/main.rs on eddy-loop; prints, per scenario,
# "same" or "different" (with the diff). Not part of `cargo test`.
#
#   benches/libuv-diff/run.sh [SCENARIO...]
#   LIBUV_SRC=~/src/libuv benches/libuv-diff/run.sh   # a libuv source tree
#                                                     # (e.g. v1.52.1) instead
#
# Differences listed in ARCHITECTURE.md ("eddy-loop and libuv") are
# intentional; the script marks them so. Exit status: 0 when every
# scenario is the same or an intentional difference, 1 otherwise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/libuv-diff"
mkdir -p "$out"

command -v cc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc >&2; }
if [ -n "${LIBUV_SRC:-}" ]; then
    # A static libuv from a source tree, with the Linux source list of its
    # CMakeLists.txt (no cmake needed).
    uv_version="$(grep -E '#define UV_VERSION_(MAJOR|MINOR|PATCH)' "$LIBUV_SRC/include/uv/version.h" | awk '{print $3}' | paste -sd.) (from $LIBUV_SRC)"
    mkdir -p "$out/uv-obj"
    rm -f "$out/uv-obj/"*.o
    for f in fs-poll idna inet random strscpy strtok thread-common threadpool timer uv-common \
        uv-data-getter-setters version unix/async unix/core unix/dl unix/fs unix/getaddrinfo \
        unix/getnameinfo unix/loop-watcher unix/loop unix/pipe unix/poll unix/process \
        unix/random-devurandom unix/signal unix/stream unix/tcp unix/thread unix/tty unix/udp \
        unix/linux unix/procfs-exepath unix/random-getrandom unix/random-sysctl-linux unix/proctitle; do
        cc -O1 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I"$LIBUV_SRC/include" -I"$LIBUV_SRC/src" \
            -c "$LIBUV_SRC/src/$f.c" -o "$out/uv-obj/${f//\//_}.o"
    done
    ar rcs "$out/libuv-src.a" "$out/uv-obj/"*.o
    cc -O1 -Wall -Wextra -I"$LIBUV_SRC/include" -o "$out/uv-scenarios" "$here/scenarios.c" \
        "$out/libuv-src.a" -lpthread -ldl
else
    if ! pkg-config --exists libuv 2>/dev/null; then
        echo "installing libuv1-dev" >&2
        apt-get update -qq && apt-get install -y -qq libuv1-dev pkg-config >&2
    fi
    uv_version="$(pkg-config --modversion libuv) (Debian's libuv1-dev)"
    cc -O1 -Wall -Wextra -o "$out/uv-scenarios" "$here/scenarios.c" $(pkg-config --cflags --libs libuv)
fi
CARGO_TARGET_DIR="$out" cargo build -q --release --manifest-path "$here/eddy/Cargo.toml"
eddy_bin="$out/release/eddy-libuv-diff"

# Scenarios whose difference ARCHITECTURE.md ("eddy-loop and libuv") lists
# as intentional, and why (one line each). Against libuv >= 1.45 only
# io_pipes differs.
declare -A intentional=(
    [phases]="eddy follows libuv >= 1.45: timers run after the close callbacks in ONCE/NOWAIT (Debian 12 ships 1.44)"
    [timers]="eddy follows libuv >= 1.45: a 0 ms timer re-armed in its callback waits for the next iteration"
    [stop]="eddy follows libuv >= 1.45: a stop from DEFAULT's first timers returns before idle/prepare/check"
    [io_pipes]="an Io error carries its errno (SO_ERROR, or EPIPE for a pipe); libuv reports EBADF for every error"
)

scenarios=("$@")
[ "${#scenarios[@]}" -gt 0 ] || scenarios=(phases timers timer_from_close close_order refs async signals io_pipes stop work)

echo "libuv $uv_version vs eddy-loop"
status=0
for s in "${scenarios[@]}"; do
    UV_THREADPOOL_SIZE=1 timeout 20 "$out/uv-scenarios" "$s" >"$out/$s.libuv" 2>&1 || echo "(libuv exited $?)" >>"$out/$s.libuv"
    EDDY_THREADPOOL_SIZE=1 timeout 20 "$eddy_bin" "$s" >"$out/$s.eddy" 2>&1 || echo "(eddy exited $?)" >>"$out/$s.eddy"
    if cmp -s "$out/$s.libuv" "$out/$s.eddy"; then
        printf '%-18s same\n' "$s"
    elif [ -n "${intentional[$s]:-}" ]; then
        printf '%-18s different (intentional: %s)\n' "$s" "${intentional[$s]}"
        diff -u --label libuv --label eddy "$out/$s.libuv" "$out/$s.eddy" | sed 's/^/    /' || true
    else
        printf '%-18s different\n' "$s"
        diff -u --label libuv --label eddy "$out/$s.libuv" "$out/$s.eddy" | sed 's/^/    /' || true
        status=1
    fi
done
exit "$status"
