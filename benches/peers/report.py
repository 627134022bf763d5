#!/usr/bin/env python3
"""report.py - summarise benchmark rounds into one table (used by
benches/echo_compare.sh and benches/load.sh).

Input: a TSV file, one line per run:  scenario  server  round  rate  cpu
(rate: higher is better, e.g. MB/s or req/s; cpu: lower is better, e.g.
server CPU seconds per GB or microseconds per request).

    report.py RESULTS.tsv --rate-unit 'MB/s' --cpu-unit 's/GB' \
        [--goal 'SCENARIO:rate|cpu:SERVER/PEER:>=|<=:VALUE' ...]

Prints medians (with min..max and run count) and the ratios of each median
to the C server's ("x C") and, when present, eddy's ratios to hyper and Node.  Goals
are checked against ratios of medians and printed as PASS/FAIL/SKIP lines.
"""
import argparse
import statistics
import sys
from collections import OrderedDict

ORDER = ["eddy", "eddy-metrics", "c", "hyper", "node"]
NAMES = {"eddy": "eddy", "eddy-metrics": "eddy+met", "c": "C epoll", "hyper": "hyper", "node": "Node.js"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--rate-unit", default="rate")
    ap.add_argument("--cpu-unit", default="cpu")
    ap.add_argument("--rate-digits", type=int, default=0)
    ap.add_argument("--cpu-digits", type=int, default=2)
    ap.add_argument("--goal", action="append", default=[])
    a = ap.parse_args()

    data = OrderedDict()  # scenario -> server -> {"rate": [], "cpu": []}
    with open(a.results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            scen, srv, _round, rate, cpu = parts
            d = data.setdefault(scen, {}).setdefault(srv, {"rate": [], "cpu": []})
            d["rate"].append(float(rate))
            d["cpu"].append(float(cpu))
    if not data:
        print("no results")
        return 1

    med = {s: {k: {m: statistics.median(v[m]) for m in ("rate", "cpu")}
               for k, v in srvs.items()} for s, srvs in data.items()}

    def ratio(scen, metric, srv, peer):
        m = med[scen]
        if srv not in m or peer not in m or m[peer][metric] == 0:
            return None
        return m[srv][metric] / m[peer][metric]

    rd, cd = a.rate_digits, a.cpu_digits
    hdr = (f"{'scenario':<16} {'server':<8} {'median ' + a.rate_unit:>14} {'min..max':>19} "
           f"{'x C':>6} | {'CPU ' + a.cpu_unit:>13} {'min..max':>17} {'x C':>6} | {'runs':>4}")
    print(hdr)
    print("-" * len(hdr))
    for scen, srvs in data.items():
        first = True
        for srv in ORDER + sorted(set(srvs) - set(ORDER)):
            if srv not in srvs:
                continue
            r, c = srvs[srv]["rate"], srvs[srv]["cpu"]
            rx, cx = ratio(scen, "rate", srv, "c"), ratio(scen, "cpu", srv, "c")
            print(f"{scen if first else '':<16} {NAMES.get(srv, srv):<8} "
                  f"{med[scen][srv]['rate']:>14.{rd}f} {f'{min(r):.{rd}f}..{max(r):.{rd}f}':>19} "
                  f"{'' if rx is None else f'{rx:.2f}':>6} | "
                  f"{med[scen][srv]['cpu']:>13.{cd}f} {f'{min(c):.{cd}f}..{max(c):.{cd}f}':>17} "
                  f"{'' if cx is None else f'{cx:.2f}':>6} | {len(r):>4}")
            first = False
        eh = ratio(scen, "rate", "eddy", "hyper")
        ech = ratio(scen, "cpu", "eddy", "hyper")
        if eh is not None:
            print(f"{'':<16} eddy vs hyper: {eh:.2f}x the rate, eddy uses {ech:.2f}x hyper's CPU per unit")
        en = ratio(scen, "rate", "eddy", "node")
        ecn = ratio(scen, "cpu", "node", "eddy")
        if en is not None:
            print(f"{'':<16} eddy vs Node: {en:.2f}x the rate, Node uses {ecn:.2f}x eddy's CPU per unit")
        cn = ratio(scen, "rate", "c", "node")
        ccn = ratio(scen, "cpu", "node", "c")
        if cn is not None:
            print(f"{'':<16} C vs Node:    {cn:.2f}x the rate, Node uses {ccn:.2f}x C's CPU per unit")
    print("(x C = median / C server's median; for CPU lower is better)")

    if a.goal:
        print()
        print("Goals (ratios of medians):")
    for g in a.goal:
        scen, metric, pair, op, val = g.split(":")
        srv, peer = pair.split("/")
        r = ratio(scen, metric, srv, peer)
        val = float(val)
        what = f"{scen}: {srv} {metric} / {peer} {metric} {op} {val:g}"
        if r is None:
            print(f"  SKIP  {what}  (no data for {srv} or {peer})")
            continue
        ok = r >= val if op == ">=" else r <= val
        print(f"  {'PASS' if ok else 'FAIL'}  {what}  (measured {r:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
