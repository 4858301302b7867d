#!/usr/bin/env bash
# Redis Cluster slot-migration throughput on this machine. Not part of the test suite
# (`cargo test` and `.ci/run` never run it): run it by hand.
#
#   bash bench/rebalance.sh                           # writes bench/rebalance-results.md
#   BENCH_KEYS=1000000 BENCH_APPEND=1 bash bench/rebalance.sh   # adds a section to it
#
# For each pipeline size it starts a fresh cluster of three masters (no replicas) on
# 127.0.0.1, loads BENCH_KEYS keys, then times:
#   - scale-out: a fourth, empty master is added and
#     `redis-cli --cluster rebalance --cluster-use-empty-masters` moves a quarter of the slots
#     (and their keys) to it;
#   - scale-in: `redis-cli --cluster rebalance --cluster-weight <4th>=0` drains it again.
# After every step `redis-cli --cluster check` must pass and the masters must hold exactly
# BENCH_KEYS keys between them.
#
# Knobs (environment):
#   BENCH_KEYS=100000          keys loaded ("key:0" .. "key:N-1", no hash tags)
#   BENCH_VALUE_BYTES=100      value size; random bytes, see load_keys for why
#   BENCH_PIPELINES="default 100 1000"
#                              --cluster-pipeline per variant; "default" passes no flag (10)
#   BENCH_PORT_BASE=30000      nodes listen on BASE+1..BASE+4, cluster bus on +10000
#   BENCH_STEP_TIMEOUT=600     seconds any one step (load, rebalance) may take
#   BENCH_RESULTS=bench/rebalance-results.md
#   BENCH_APPEND=0             1: add this run's section to the results instead of replacing
#
# Every wait is bounded (timeout(1) or a deadline loop). The trap stops only the
# redis-server processes this script started, by PID, and removes its temporary directory.
set -euo pipefail

cd "$(dirname "$0")/.."

keys=${BENCH_KEYS:-100000}
value_bytes=${BENCH_VALUE_BYTES:-100}
pipelines=${BENCH_PIPELINES:-default 100 1000}
port_base=${BENCH_PORT_BASE:-30000}
step_timeout=${BENCH_STEP_TIMEOUT:-600}
results=${BENCH_RESULTS:-bench/rebalance-results.md}
append=${BENCH_APPEND:-0}

redis_server=/usr/bin/redis-server
settle_timeout=60   # gossip after add-node / rebalance normally settles in a second or two
nodes=4             # three masters to start with, one added

die() { echo "bench/rebalance.sh: $*" >&2; exit 1; }
say() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for n in "$keys" "$value_bytes" "$port_base" "$step_timeout"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $n"
done
[ -x "$redis_server" ] || die "$redis_server is missing"
for tool in redis-cli python3 timeout ss ps; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

# --- processes and cleanup -------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/redkube-rebalance.XXXXXX")
pids=()   # redis-server processes started by this script, and only those

# The password reaches redis-cli only through the environment (never its argv, which any
# user can read in ps); redis-server reads it from the generated conf file in $work (0700).
REDISCLI_AUTH=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export REDISCLI_AUTH

# alive PID: the process exists and is not a zombie (a zombie answers kill -0 until reaped).
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# Stop every node we started: SIGTERM, up to 10 s, then SIGKILL; then reap.
stop_nodes() {
    local pid deadline=$((SECONDS + 10))
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

# bounded SECONDS COMMAND...: COMMAND under timeout(1), in the background while the script
# waits for it. Bash runs a trap only after a foreground command ends, but interrupts `wait`
# at once: so a TERM or Ctrl-C stops a long rebalance now, and cleanup stops it by its PID.
# (`<&0`: a background command would otherwise get /dev/null as stdin, not the caller's.)
child=
bounded() {
    local limit=$1 status=0
    shift
    timeout "$limit" "$@" <&0 &
    child=$!
    wait "$child" || status=$?
    child=
    return "$status"
}

# The script's own stdout and stderr: a trap can fire inside `bounded`, whose redirections
# (to a step's .out file) would otherwise swallow what cleanup says.
exec 3>&1 4>&2

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    exec >&3 2>&4
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true   # timeout(1) passes it on to its command
        wait "$child" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ]; then
        # The node logs are the only clue to a failed step; show them before they go.
        local log
        for log in "$work"/run-*/*.log; do
            [ -f "$log" ] || continue
            echo "--- tail of $log" >&2
            tail -n 15 "$log" >&2
        done
    fi
    stop_nodes
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- small helpers ---------------------------------------------------------------------------
# wait_until SECONDS WHAT COMMAND...: retry COMMAND until it succeeds, at most SECONDS.
wait_until() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        ((SECONDS < deadline)) || die "timed out after ${limit}s waiting for $what"
        sleep 0.2
    done
}

# cli PORT ARGS...: one redis-cli command to one node (authenticated via REDISCLI_AUTH).
cli() {
    local port=$1
    shift
    timeout 10 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# field FIELD: the value of FIELD in "name:value\r" lines on stdin (INFO, CLUSTER INFO).
field() { awk -F: -v f="$1" '$1 == f { sub(/\r$/, "", $2); print $2 }'; }

# slots PORT: how many slots the node owns (from its own line of CLUSTER NODES).
slots() {
    cli "$1" cluster nodes | awk '/myself/ {
        for (i = 9; i <= NF; i++) { n = split($i, r, "-"); s += (n == 2 ? r[2] - r[1] + 1 : 1) }
    } END { print s + 0 }'
}

# dataset PORT: the node's used_memory_dataset, bytes.
dataset() { cli "$1" info memory | field used_memory_dataset; }

port_free() { ! ss -Hltn "( sport = :$1 or sport = :$(($1 + 10000)) )" | grep -q .; }

now() { echo "$EPOCHREALTIME"; }

# calc EXPR: floating-point arithmetic (bash has none).
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# --- the cluster -----------------------------------------------------------------------------
port() { echo $((port_base + $1)); }

start_node() {
    local p dir
    p=$(port "$1")
    dir=$run_dir/$p
    mkdir -p "$dir"
    # No persistence: the benchmark measures migration, not disk writes.
    cat >"$dir/redis.conf" <<EOF
bind 127.0.0.1
port $p
dir $dir
logfile $run_dir/$p.log
daemonize no
appendonly no
save ""
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
requirepass $REDISCLI_AUTH
masterauth $REDISCLI_AUTH
EOF
    "$redis_server" "$dir/redis.conf" >/dev/null 2>&1 &
    pids+=("$!")
}

node_ready() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }

# cluster_check PORT: `redis-cli --cluster check` passes: all slots covered, every node
# agrees, no slot left open (a WARNING would mean a half-done migration).
cluster_check() {
    local out
    # redis-cli colours its verdicts even into a pipe: strip the escapes before matching.
    out=$(timeout 60 redis-cli --cluster check "127.0.0.1:$1" 2>&1 | sed 's/\x1b\[[0-9;]*m//g') ||
        return 1
    grep -q '^\[OK\] All 16384 slots covered' <<<"$out" &&
        ! grep -qE '^\[(ERR|WARNING)\]' <<<"$out"
}

# settled COUNT: every one of the first COUNT nodes knows COUNT nodes and is ok, and the
# check passes. Gossip needs a moment after add-node and rebalance.
settled() {
    local i info
    for ((i = 1; i <= $1; i++)); do
        info=$(cli "$(port "$i")" cluster info) || return 1
        [ "$(field cluster_state <<<"$info")" = ok ] || return 1
        [ "$(field cluster_known_nodes <<<"$info")" = "$1" ] || return 1
    done
    cluster_check "$(port 1)"
}

# total_keys COUNT: keys held by the masters among the first COUNT nodes. Only masters: once
# the scale-in takes its last slot, Redis 7 makes the emptied master a replica of the node that
# took it (cluster-allow-replica-migration, on by default), and a replica's keys are copies.
total_keys() {
    local i p sum=0
    for ((i = 1; i <= $1; i++)); do
        p=$(port "$i")
        [ "$(cli "$p" info replication | field role)" = master ] || continue
        sum=$((sum + $(cli "$p" dbsize)))
    done
    echo "$sum"
}

# verify COUNT WHEN: the check passes and no key was lost or duplicated.
verify() {
    wait_until "$settle_timeout" "the cluster to settle ($2)" settled "$1"
    local got
    got=$(total_keys "$1")
    [ "$got" -eq "$keys" ] || die "$2: $got keys in the cluster, expected $keys"
}

# load_keys: write key:0..key:N-1 straight to the master owning each key's slot.
# redis-cli --pipe and redis-benchmark do not route by slot, so a short Python client
# (standard library only) does: CRC16/XMODEM of the key is binascii.crc_hqx(key, 0), the
# slot is that mod 16384, the owner comes from CLUSTER NODES; SETs are pipelined per node
# in batches of 1000 and every reply must be +OK.
# Values are random bytes: MIGRATE carries a DUMP payload, which Redis LZF-compresses
# (rdbcompression yes by default), so a value of repeated bytes would shrink to almost
# nothing on the wire and inflate the MB/s.
# Prints the total length of the key names, for the bytes-moved estimate.
load_keys() {
    bounded "$step_timeout" python3 - "$(port 1)" "$keys" "$value_bytes" <<'PY'
import binascii, os, socket, sys

first_port, count, value_bytes = map(int, sys.argv[1:4])
password = os.environ["REDISCLI_AUTH"].encode()
BATCH = 1000


def command(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class Node:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.replies = self.sock.makefile("rb")
        self.pending = []
        if self.call(b"AUTH", password) != b"OK":
            sys.exit("AUTH refused by port %d" % port)

    def reply(self):
        line = self.replies.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"$":
            data = self.replies.read(int(rest) + 2)
            return data[:-2]
        sys.exit("unexpected reply %r" % line)

    def call(self, *parts):
        self.sock.sendall(command(*parts))
        return self.reply()

    def flush(self):
        self.sock.sendall(b"".join(self.pending))
        for _ in self.pending:
            answer = self.reply()
            if answer != b"OK":
                sys.exit("SET answered %r" % answer)
        self.pending.clear()


entry = Node(first_port)
owner = [None] * 16384
for line in entry.call(b"CLUSTER", b"NODES").splitlines():
    fields = line.split()
    if b"master" not in fields[2].split(b","):
        continue
    port = int(fields[1].split(b"@")[0].rsplit(b":", 1)[1])
    for spec in fields[8:]:
        first, _, last = spec.partition(b"-")
        for slot in range(int(first), int(last or first) + 1):
            owner[slot] = port
if None in owner:
    sys.exit("CLUSTER NODES does not cover all 16384 slots")

nodes = {port: Node(port) for port in set(owner)}
pool = os.urandom(max(1 << 20, 2 * value_bytes))
span = len(pool) - value_bytes
key_bytes = 0
for i in range(count):
    key = b"key:%d" % i
    key_bytes += len(key)
    start = (i * 4099) % span
    node = nodes[owner[binascii.crc_hqx(key, 0) % 16384]]
    node.pending.append(command(b"SET", key, pool[start:start + value_bytes]))
    if len(node.pending) == BATCH:
        node.flush()
for node in nodes.values():
    if node.pending:
        node.flush()
print(key_bytes)
PY
}

# --- one variant: fresh cluster, load, scale out, scale in ----------------------------------
rows=()       # markdown rows of the migration table
load_rows=()  # markdown rows of the load table

# row NAME SLOTS KEYS BYTES DATASET_BYTES SECONDS
row() {
    local name=$1
    shift
    rows+=("| $name | $1 | $2 | $(calc "$3 / 1e6") | $(calc "$4 / 1e6") | $(calc "$5") | $(calc "$2 / $5" | cut -d. -f1) | $(calc "$3 / 1e6 / $5") |")
}

run_variant() {
    local pipeline=$1 label flag=() i p1 p4 id4 key_bytes t0 t1 moved moved_slots before after
    if [ "$pipeline" = default ]; then
        label="pipeline 10 (default)"
    else
        [[ $pipeline =~ ^[1-9][0-9]*$ ]] || die "BENCH_PIPELINES: not a number: $pipeline"
        label="pipeline $pipeline"
        flag=(--cluster-pipeline "$pipeline")
    fi
    say "variant: $label"
    run_dir=$work/run-$pipeline
    mkdir -p "$run_dir"
    p1=$(port 1)
    p4=$(port 4)

    # Ports of the previous variant may take a moment to be released.
    for ((i = 1; i <= nodes; i++)); do
        wait_until 30 "port $(port "$i") (and its bus port) to be free" port_free "$(port "$i")"
    done
    for ((i = 1; i <= nodes; i++)); do start_node "$i"; done
    for ((i = 1; i <= nodes; i++)); do
        wait_until 30 "redis-server on port $(port "$i")" node_ready "$(port "$i")"
    done

    # Three masters, no replicas; the fourth node waits, empty, outside the cluster.
    bounded 120 redis-cli --cluster create "127.0.0.1:$p1" "127.0.0.1:$(port 2)" \
        "127.0.0.1:$(port 3)" --cluster-replicas 0 --cluster-yes >"$run_dir/create.out" 2>&1 ||
        die "cluster create failed: $(tail -n 5 "$run_dir/create.out")"
    wait_until "$settle_timeout" "the new cluster to settle" settled 3

    say "loading $keys keys of $value_bytes bytes"
    t0=$(now)
    load_keys >"$run_dir/load.out"
    key_bytes=$(cat "$run_dir/load.out")
    t1=$(now)
    verify 3 "after the load"
    local dataset=0
    for ((i = 1; i <= 3; i++)); do
        dataset=$((dataset + $(dataset "$(port "$i")")))
    done
    load_rows+=("| $label | $keys | $(calc "$t1 - $t0") | $(calc "$dataset / 1e6") |")
    # Bytes of one average key + value: the estimate of what a moved key carries.
    key_size=$(calc "$key_bytes / $keys + $value_bytes")

    bounded 60 redis-cli --cluster add-node "127.0.0.1:$p4" "127.0.0.1:$p1" \
        >"$run_dir/add-node.out" 2>&1 || die "add-node failed: $(tail -n 5 "$run_dir/add-node.out")"
    verify 4 "after add-node"
    id4=$(cli "$p4" cluster myid)

    # Scale-out: only the rebalance itself is timed, not the gossip that settles after it.
    say "scale-out 3 -> 4 ($label)"
    before=$(dataset "$p4")
    t0=$(now)
    bounded "$step_timeout" redis-cli --cluster rebalance "127.0.0.1:$p1" \
        --cluster-use-empty-masters "${flag[@]}" >"$run_dir/scale-out.out" 2>&1 ||
        die "rebalance failed: $(tail -n 5 "$run_dir/scale-out.out")"
    t1=$(now)
    verify 4 "after scale-out"
    moved=$(cli "$p4" dbsize)
    after=$(dataset "$p4")
    [ "$moved" -gt 0 ] || die "scale-out moved no key"
    row "scale-out 3→4, $label" "$(slots "$p4")" "$moved" "$(calc "$moved * $key_size")" \
        "$((after - before))" "$(calc "$t1 - $t0")"

    # Scale-in: weight 0 empties the fourth master; what it held is what moves. Its dataset
    # size is taken before: afterwards it turns replica (see total_keys) and fills up again.
    say "scale-in 4 -> 3 ($label)"
    moved=$(cli "$p4" dbsize)
    moved_slots=$(slots "$p4")
    before=$(dataset "$p4")
    t0=$(now)
    bounded "$step_timeout" redis-cli --cluster rebalance "127.0.0.1:$p1" \
        --cluster-weight "$id4=0" "${flag[@]}" >"$run_dir/scale-in.out" 2>&1 ||
        die "drain failed: $(tail -n 5 "$run_dir/scale-in.out")"
    t1=$(now)
    verify 4 "after scale-in"
    [ "$(slots "$p4")" -eq 0 ] || die "scale-in left slots on the fourth node"
    row "scale-in 4→3, $label" "$moved_slots" "$moved" "$(calc "$moved * $key_size")" \
        "$before" "$(calc "$t1 - $t0")"

    stop_nodes
}

# --- main ----------------------------------------------------------------------------------------
for i in $(seq 1 "$nodes"); do
    port_free "$(port "$i")" || die "port $(port "$i") or $(($(port "$i") + 10000)) is in use; set BENCH_PORT_BASE"
done

started=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
read -ra variants <<<"$pipelines"
for pipeline in "${variants[@]}"; do run_variant "$pipeline"; done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

section=$(
    echo "## $keys keys × $value_bytes-byte values ($date_start)"
    echo
    echo "- machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
    echo "- $("$redis_server" --version | cut -d' ' -f1-3), $(redis-cli --version)"
    echo "- load average (1/5/15 min) at start: $load_start; at end: $load_end"
    echo "- whole run: $((SECONDS - started)) s"
    echo
    echo "Load (Python client, pipelined SETs routed by slot; dataset = sum of the three masters' used_memory_dataset):"
    echo
    echo "| variant | keys | seconds | dataset MB |"
    echo "| --- | ---: | ---: | ---: |"
    printf '%s\n' "${load_rows[@]}"
    echo
    echo "Migration (MB = keys moved × average key+value bytes, $key_size B; dataset MB = the fourth master's used_memory_dataset gained (scale-out) or held before the drain (scale-in); MB/s from MB):"
    echo
    echo "| variant | slots | keys | MB | dataset MB | seconds | keys/s | MB/s |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
)

if [ "$append" = 1 ] && [ -f "$results" ]; then
    printf '\n%s\n' "$section" >>"$results"
else
    {
        echo "# Redis Cluster slot-migration benchmark"
        echo
        echo "Written by \`bash bench/rebalance.sh\` (see bench/README.md); 1 MB = 10^6 bytes."
        echo
        echo "$section"
    } >"$results"
fi
cat "$results"
