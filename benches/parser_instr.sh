#!/bin/sh
# Instructions per parse, eddy against httparse, for every bench request,
# counted by callgrind (deterministic): two runs per pair, 2000 and 12000
# parses, the difference divided by 10000.
#   benches/parser_instr.sh [REQUEST...]
set -eu
cd "$(dirname "$0")/.."
cargo bench --bench parser_instr --no-run 2>/dev/null
bin=$(ls -t target/release/deps/parser_instr-* | grep -v '\.d$' | head -1)
count() {
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" "$2" "$3" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
reqs=${*:-kitty joyent techempower short_headers cookie_4k}
printf '%-14s %9s %9s %9s %7s\n' request eddy swar httparse ratio
for r in $reqs; do
    for p in eddy eddy-swar httparse; do
        a=$(count "$r" $p 2000); b=$(count "$r" $p 12000)
        eval "n_$(echo $p | tr - _)=\$(( (b - a) / 10000 ))"
    done
    printf '%-14s %9d %9d %9d %7s\n' "$r" "$n_eddy" "$n_eddy_swar" "$n_httparse" \
        "$(awk "BEGIN {printf \"%.3f\", $n_eddy / $n_httparse}")"
done
