#!/usr/bin/env bash
# Where a large render spends its instructions: the release binary rendering the 6000-pod NFS
# profile under callgrind.
#
#   bash bench/profile.sh [MASTERS]      # default 3000 masters = 6000 pods
#
# callgrind counts instructions, so the figures do not move with the machine's load the way
# times do: the total is the number to compare before and after a change. (`perf` would be
# faster, but on this VM `perf stat -e instructions true` reports the counter as not
# supported.) Prints the total, the functions with the most instructions of their own
# (self), and with the most including their callees (inclusive). The raw file stays in
# target/bench/ for `callgrind_annotate`.
set -euo pipefail

cd "$(dirname "$0")/.."
masters=${1:-3000}
work=target/bench
bin=target/release/redkube

command -v valgrind >/dev/null || {
    [ "$(id -u)" -eq 0 ] || { echo "bench/profile.sh: install valgrind" >&2; exit 1; }
    apt-get install -y -qq valgrind >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
}

timeout 1800 cargo build --release --quiet --bin redkube
profile=$(bash bench/gen-profiles.sh "$work/profiles" "$masters" | grep '/nfs-')
out=$work/callgrind-nfs-$((masters * 2)).out

# Release symbols are kept (only debug info is stripped), so functions are named; inlined
# functions are counted in their caller.
timeout 600 valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bin" render "$profile" >/dev/null 2>"$work/callgrind.log"

total=$(grep -o 'Collected : [0-9]*' "$work/callgrind.log" | grep -o '[0-9]*$')
echo "profile: $profile ($((masters * 2)) pods)"
echo "instructions (Ir): $total"
# callgrind_annotate prints `count (percent)  file:function [object]`; drop the object.
echo
echo "self (top 15):"
callgrind_annotate "$out" 2>/dev/null | grep -E '^ *[0-9,]+ \( *[0-9.]+%\)' |
    grep -v 'PROGRAM TOTALS' | sed -E 's/ \[[^]]*\]$//' | head -15
echo
echo "inclusive (top 30, redkube, serde_saphyr, k8s_openapi, malloc):"
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep -E '^ *[0-9,]+ \( *[0-9.]+%\)' |
    grep -E 'redkube::|serde_saphyr|k8s_openapi|malloc' | sed -E 's/ \[[^]]*\]$//' | head -30
