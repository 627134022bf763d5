#!/usr/bin/env bash
# idle_memory.sh - server memory per idle keep-alive connection (issue 7):
# eddy-server vs the C epoll peer vs hyper 1.x vs Node's `http`.
#
#   benches/idle_memory.sh [--conns N] [--rounds R] [--no-build] [--only "eddy c hyper node"] [--port BASE]
#
# For each server (fresh process, pinned to CPU 0): benches/peers/idle_client.py
# (on CPU 1) makes a warm-up request, reads the server's VmRSS, opens N
# connections (default 10000), sends one `GET /` on each and reads the
# response, then reads VmRSS again while all N sit idle, and checks that the
# server still holds them open.  Reported: RSS growth per connection in KB
# (1 KB = 1024 bytes), median over rounds (default 1).  Goal: eddy <= 1 KB per
# idle connection (Node takes about 8 KB).
# The servers close connections idle for 5 s (Keep-Alive: timeout=5), so the
# connections are set up in one burst (~1-2 s) and measured right away; the
# "open" column shows how many were still open when RSS was read.
# eddy-server and the hyper peer are found/built as in benches/load.sh
# (EDDY_SERVER=path, HYPER_SERVER=path override).  hyper installs no timer,
# so it never closes idle connections itself.  Runs in well under a minute.
# --only "c node" runs a subset of the servers (names: eddy, c, hyper, node).
set -euo pipefail
# shellcheck source=peers/lib.sh
source "$(dirname "$0")/peers/lib.sh"

CONNS=10000 ROUNDS=1 BUILD=1 ONLY="" PORT=${PORT:-18700}
while (($#)); do
    case $1 in
        --conns) CONNS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

# Both the client and the server need more than CONNS descriptors.
need=$((CONNS + 1024))
if (( $(ulimit -Hn) < need )); then ulimit -Hn "$need" 2>/dev/null ||
    { echo "cannot raise the hard fd limit to $need (try as root, or lower --conns)" >&2; exit 1; }; fi
(( $(ulimit -Sn) < need )) && ulimit -Sn "$need"

peers_init
echo "== building C peer into $PEER_BIN"
build_c http_epoll

http_servers "$BUILD" "$ONLY"

RESULTS="$PEERS_TMP/results.tsv"
: >"$RESULTS"
echo "== $CONNS idle keep-alive connections x {${SERVERS[*]}} x $ROUNDS round(s)"
for ((round = 1; round <= ROUNDS; round++)); do
    for srv in "${SERVERS[@]}"; do
        next_port
        server_cmd "$srv" "$PORT"
        start_server "$srv" 0 "${CMD[@]}" || continue
        if ! out=$(timeout 90 taskset -c 1 python3 "$PEERS_DIR/idle_client.py" "$PORT" "$SERVER_PID" "$CONNS" 2>&1); then
            echo "!! idle client against $srv failed: $out"
            stop_server
            continue
        fi
        stop_server
        echo "   $srv round $round: $out"
        echo "$srv $out" >>"$RESULTS"
    done
done

echo
echo "== server RSS growth per idle keep-alive connection ($CONNS connections, 1 KB = 1024 bytes)"
awk '
    { srv = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      n[srv]++; kb[srv, n[srv]] = v["kb_per_conn"]; open[srv, n[srv]] = v["open"]
      before[srv, n[srv]] = v["rss_before_kb"]; after[srv, n[srv]] = v["rss_after_kb"]
      if (!(srv in seen)) { seen[srv] = 1; order[++m] = srv } }
    function median(srv, arr,   i, j, t, a, k) {
        k = n[srv]; for (i = 1; i <= k; i++) a[i] = arr[srv, i] + 0
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    END {
        name["eddy"] = "eddy"; name["c"] = "C epoll"; name["hyper"] = "hyper"; name["node"] = "Node.js"
        printf "%-8s %14s %14s %12s %10s %8s\n", "server", "RSS before KB", "RSS after KB", "KB per conn", "still open", "x C"
        cm = ("c" in seen) ? median("c", kb) : 0
        for (i = 1; i <= m; i++) { s = order[i]; md = median(s, kb)
            printf "%-8s %14d %14d %12.3f %10d %8s\n", name[s], median(s, before), median(s, after), md,
                   median(s, open), (cm > 0 ? sprintf("%.1f", md / cm) : "") }
        if ("eddy" in seen) printf "\nGoal: eddy <= 1 KB per idle connection: %s (measured %.3f)\n",
                                   median("eddy", kb) <= 1 ? "PASS" : "FAIL", median("eddy", kb)
        else print "\nGoal: eddy <= 1 KB per idle connection: SKIP (no eddy-server)"
    }' "$RESULTS"
