#!/usr/bin/env bash
# Render-speed and memory benchmark (issue 6). Not part of the test suite: run it by hand.
#
#   bash bench/run.sh
#
# For clusters of 6, 60, 600 and 6000 pods (3, 30, 300, 3000 masters x 1 replica), on static
# NFS (one PersistentVolume per pod) and on StorageClass claims, it measures:
#   - the whole process, `redkube render PROFILE` with stdout to /dev/null (hyperfine, warm-up
#     runs first, no shell in between), next to `cat` of the same bytes to /dev/null: the
#     floor, the cost of merely starting a process and writing the bytes;
#   - the time inside the library (examples/render_loop.rs: render_str + to_stream in a loop);
#   - the peak RSS of the process (/usr/bin/time -v);
#   - the instructions the process executes (valgrind's callgrind): unlike times, they do not
#     move with the machine's load, so they show linear growth even on a busy machine;
#   - the output bytes;
# then writes bench/results.md (the table, per-pod slopes and the targets) and prints it.
#
# Knobs (environment): BENCH_MASTERS (default "3 30 300 3000"), BENCH_SECONDS (the library
# loop's time budget per profile, default 3). Bounded: every measurement has a run cap and a
# timeout; a full run takes under a minute on the 2-core machine, plus the build.
# Timings on a shared machine move with its load: the load average is recorded with them.
# bench/profile.sh shows where the instructions go.
set -euo pipefail

cd "$(dirname "$0")/.."
masters_list=${BENCH_MASTERS:-3 30 300 3000}
seconds=${BENCH_SECONDS:-3}
work=target/bench
results=bench/results.md
bin=target/release/redkube
loop=target/release/examples/render_loop

die() { echo "bench/run.sh: $*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------------------
apt_install() {
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing $* from Debian's packages" >&2
    $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null; } ||
        die "cannot install $*; install it and run again"
}
command -v hyperfine >/dev/null || apt_install hyperfine
[ -x /usr/bin/time ] || apt_install time
command -v valgrind >/dev/null || apt_install valgrind
command -v timeout >/dev/null || die "coreutils' timeout is missing"

# --- build (release, the binary users run) ---------------------------------------------------
# The target dir is shared: cargo may wait on its lock while someone else builds.
timeout 1800 cargo build --release --quiet --bin redkube --example render_loop

# --- profiles ----------------------------------------------------------------------------------
rm -rf "$work/profiles" "$work/out"
mkdir -p "$work/out"
# shellcheck disable=SC2086 # a list of numbers, split on purpose
mapfile -t profiles < <(bash bench/gen-profiles.sh "$work/profiles" $masters_list)
# A failure inside the process substitution does not stop the script: count what came out.
read -ra sizes <<<"$masters_list"
[ "${#profiles[@]}" -eq $((2 * ${#sizes[@]})) ] || die "bench/gen-profiles.sh failed"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
data=$work/data.tsv
: >"$data"

for p in "${profiles[@]}"; do
    name=$(basename "$p" .toml)       # nfs-6000
    kind=${name%-*}
    pods=${name##*-}
    out=$work/out/$name.yaml
    # A render that fails or renders the wrong thing must not be timed.
    timeout 60 "$bin" render "$p" >"$out" 2>/dev/null || die "$p does not render"
    grep -qx "  replicas: $pods" "$out" || die "$out: the StatefulSet does not have $pods replicas"
    pvs=$(grep -cx 'kind: PersistentVolume' "$out" || true)
    want=0
    [ "$kind" = nfs ] && want=$pods
    [ "$pvs" -eq "$want" ] || die "$out: $pvs PersistentVolumes, expected $want"
    bytes=$(wc -c <"$out")

    # Whole process. -N: no shell between hyperfine and redkube. The run cap keeps fast
    # commands bounded; the budget gives slow ones at least 10 runs.
    csv=$work/$name.csv
    echo "hyperfine: $name" >&2
    timeout 300 hyperfine -N --style none --warmup 5 --min-runs 10 --max-runs 300 \
        --output=null --export-csv "$csv" \
        -n redkube "$bin render $p" \
        -n cat "cat $out" >/dev/null
    # columns: command,mean,stddev,median,user,system,min,max (seconds)
    read -r mean sd median min < <(awk -F, '$1=="redkube" {print $2*1e3, $3*1e3, $4*1e3, $7*1e3}' "$csv")
    read -r cat_median < <(awk -F, '$1=="cat" {print $4*1e3}' "$csv")

    # Peak RSS: the median of 5 runs (it barely varies; the median ignores an outlier).
    rss=$(for _ in 1 2 3 4 5; do
        timeout 60 /usr/bin/time -v -o "$work/time.txt" "$bin" render "$p" >/dev/null 2>&1
        awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt"
    done | sort -n | sed -n 3p)

    # Instructions of one whole render (about 5 s under valgrind at 6000 pods).
    ir=$(timeout 300 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$bin" render "$p" 2>&1 >/dev/null | grep -o 'Collected : [0-9]*' | grep -o '[0-9]*$')

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$kind" "$pods" "$bytes" "$mean" "$sd" "$median" "$min" "$cat_median" "$rss" "$ir" >>"$data"
done

# Time inside the library, all profiles in one process.
echo "render_loop: library time" >&2
timeout 600 "$loop" --min-iters 10 --max-iters 5000 --seconds "$seconds" "${profiles[@]}" \
    >"$work/library.tsv"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src templates Cargo.toml Cargo.lock || commit="$commit + uncommitted changes"
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)

{
    echo "# redkube render benchmark"
    echo
    echo "Generated by \`bash bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): commit $commit,"
    echo "$(nproc) x $cpu, $(rustc -V | cut -d' ' -f1-2), $(hyperfine --version)."
    echo "Load average (1/5/15 min) before: $load_before; after: $load_after."
    if awk -v l="${load_before%% *}" -v n="$(nproc)" 'BEGIN {exit !(l > n / 2)}'; then
        echo "The machine was busy (load above half its cores): times are inflated; the"
        echo "instruction counts are not."
    fi
    echo
    echo "- **process**: \`target/release/redkube render PROFILE\` with stdout redirected to"
    echo "  /dev/null, timed by hyperfine (\`-N\`, 5 warm-up runs, 10 to 300 runs): mean ± σ, median"
    echo "  and min. Slopes and targets use the median: on a shared machine a neighbour's build"
    echo "  inflates the mean of a 2 ms command by whole milliseconds, the median far less."
    echo "- **cat floor**: \`cat\` of the same output to /dev/null, timed the same way (median): the"
    echo "  cost of starting a process and writing the bytes, which redkube cannot go below."
    echo "- **library**: \`examples/render_loop.rs\`, \`render_str\` + \`to_stream\` in one process,"
    echo "  no I/O (median and min per render)."
    echo "- **peak RSS**: \`/usr/bin/time -v\` \"Maximum resident set size\", median of 5 runs."
    echo "- **instructions**: executed by the whole process (valgrind --tool=callgrind); does not"
    echo "  depend on the load, unlike the times."
    echo "- Profiles: \`profiles/cluster-nfs.toml\` (static NFS, path with \`{ordinal}\`: one PV per"
    echo "  pod) and \`profiles/cluster-storageclass.toml\` (claims) with only \`masters\` changed"
    echo "  (\`bench/gen-profiles.sh\`); pods = masters x 2."
    echo
    awk -F'\t' '
        # library.tsv: profile iters median_us min_us bytes
        FNR == NR {
            if (FNR > 1) {
                n = split($1, parts, "/"); name = parts[n]; sub(/\.toml$/, "", name)
                lib_med[name] = $3 / 1e3; lib_min[name] = $4 / 1e3; lib_iters[name] = $2
            }
            next
        }
        # data.tsv: kind pods bytes mean sd median min cat rss_kib instructions
        {
            k = $1; p = $2; name = k "-" p
            if (!(k in count)) korder[++nkinds] = k   # kinds in file order, not hash order
            pods[k, ++count[k]] = p
            bytes[k, p] = $3; mean[k, p] = $4; sd[k, p] = $5; med[k, p] = $6; min[k, p] = $7
            cat[k, p] = $8; rss[k, p] = $9 / 1024; ir[k, p] = $10
            lmed[k, p] = lib_med[name]; lmin[k, p] = lib_min[name]
            rows[++nrows] = k SUBSEP p
        }
        function slope(arr, k, a, b) { return (arr[k, b] - arr[k, a]) / (b - a) }
        function mark(ok) { return ok ? "**met**" : "**not met**" }
        END {
            print "## Results"
            print ""
            print "| storage | pods | output bytes | process mean ± σ (ms) | process median (ms) | process min (ms) | cat floor (ms) | library median (ms) | library min (ms) | peak RSS (MiB) | instructions (M) |"
            print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            for (i = 1; i <= nrows; i++) {
                split(rows[i], r, SUBSEP); k = r[1]; p = r[2]
                printf "| %s | %d | %d | %.2f ± %.2f | %.2f | %.2f | %.2f | %.3f | %.3f | %.1f | %.1f |\n",
                    k, p, bytes[k, p], mean[k, p], sd[k, p], med[k, p], min[k, p], cat[k, p],
                    lmed[k, p], lmin[k, p], rss[k, p], ir[k, p] / 1e6
            }
            print ""
            print "## Per-pod slopes"
            print ""
            print "Growth per added pod between two sizes. Linear growth gives the same slope over"
            print "both intervals; a quadratic step would make the upper slope about 10x the lower one."
            print ""
            print "| storage | interval (pods) | process (median) µs/pod | library µs/pod | peak RSS KiB/pod | instructions k/pod | output bytes/pod |"
            print "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
            for (ki = 1; ki <= nkinds; ki++) {
                k = korder[ki]
                for (j = 2; j <= count[k]; j++) {
                    a = pods[k, j - 1]; b = pods[k, j]
                    printf "| %s | %d → %d | %.2f | %.2f | %.2f | %.1f | %.1f |\n", k, a, b,
                        1e3 * slope(med, k, a, b), 1e3 * slope(lmed, k, a, b),
                        1024 * slope(rss, k, a, b), slope(ir, k, a, b) / 1e3, slope(bytes, k, a, b)
                }
            }
            # Targets, each checked on every storage kind that has the size.
            ok6 = ok6000 = ok_rss = ok_lin = 1; have6 = have6000 = have600 = havelin = 0
            t6 = t6000 = trss = tlin = ""
            for (ki = 1; ki <= nkinds; ki++) {
                k = korder[ki]
                if ((k, 6) in med) { have6 = 1; ok6 = ok6 && med[k, 6] < 5
                    t6 = t6 sprintf("%s %.2f ms (mean %.2f); ", k, med[k, 6], mean[k, 6]) }
                if ((k, 6000) in med) { have6000 = 1; ok6000 = ok6000 && med[k, 6000] < 150
                    t6000 = t6000 sprintf("%s %.1f ms (mean %.1f); ", k, med[k, 6000], mean[k, 6000]) }
                if ((k, 600) in rss) { have600 = 1; ok_rss = ok_rss && rss[k, 600] < 20
                    trss = trss sprintf("%s %.1f MiB; ", k, rss[k, 600]) }
                # Linearity: the library time, RSS and instruction slopes 600 → 6000 against
                # 60 → 600. Instructions are exact, so they get the tight bound; times and RSS
                # also carry cache and allocator effects, so they get a looser one.
                # Outputs that do not grow (claims) have slopes of noise: reported, not judged.
                if (((k, 60) in lmed) && ((k, 600) in lmed) && ((k, 6000) in lmed)) {
                    if (slope(bytes, k, 600, 6000) < 1) {
                        tlin = tlin sprintf("%s: output constant (%.2f bytes/pod), not judged; ", k, slope(bytes, k, 600, 6000))
                    } else {
                        havelin = 1
                        tr = slope(lmed, k, 600, 6000) / slope(lmed, k, 60, 600)
                        mr = slope(rss, k, 600, 6000) / slope(rss, k, 60, 600)
                        ir_r = slope(ir, k, 600, 6000) / slope(ir, k, 60, 600)
                        ok_lin = ok_lin && tr < 1.5 && mr < 1.5 && ir_r < 1.2
                        tlin = tlin sprintf("%s: slope 600→6000 over slope 60→600: library time %.2f, RSS %.2f, instructions %.2f; ", k, tr, mr, ir_r)
                    }
                }
            }
            sub(/; $/, "", t6); sub(/; $/, "", t6000); sub(/; $/, "", trss); sub(/; $/, "", tlin)
            print ""
            print "## Targets"
            print ""
            print "| target | measured | status |"
            print "| --- | --- | --- |"
            if (have6) printf "| 6 pods, whole process, under 5 ms (median) | %s | %s |\n", t6, mark(ok6)
            if (have6000) printf "| 6000 pods, whole process, under 150 ms (median) | %s | %s |\n", t6000, mark(ok6000)
            if (havelin) printf "| time and memory linear in pods (slope ratios: time and RSS under 1.5, instructions under 1.2) | %s | %s |\n", tlin, mark(ok_lin)
            if (have600) printf "| peak RSS at 600 pods under 20 MiB | %s | %s |\n", trss, mark(ok_rss)
        }
    ' "$work/library.tsv" "$data"
} >"$results"

cat "$results"
