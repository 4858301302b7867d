#!/bin/sh
# Regenerates the real-Redis fixtures of tests/shell/fixtures/ (the ones not marked
# "hand-written" in fixtures/README.md) from the local redis-server, redis-sentinel and
# redis-cli. Not run by `cargo test`: the fixtures are committed, so the unit tests need no
# Redis. Needs no root; listens on 127.0.0.1 ports 30001-30074 only, and stops every process it
# started, by PID, on exit.
#
#   sh tests/shell/gen-fixtures.sh            (writes into tests/shell/fixtures/)
#   sh tests/shell/gen-fixtures.sh handover   (only the hand-over fixtures, ports 30041-30053:
#                                              they hold no node ID another fixture refers to)
#   sh tests/shell/gen-fixtures.sh sentinel-peers   (only the Sentinels' peer lists, ports
#                                              30061-30074)
#
# Every reply is stored exactly as `redis-cli ... 2>/dev/null` prints it, \r included: that is
# what the scripts' node_cli reads before it strips the \r.
set -eu

OUT=$(cd "$(dirname "$0")" && pwd)/fixtures
WORK=$(mktemp -d "${TMPDIR:-/tmp}/redkube-fixtures.XXXXXX")
PIDS=""
PASSWORD=fixture-password
# The hostnames the unit tests' profile (profiles/cluster-storageclass.toml, namespace redis)
# gives its pods.
host() { printf 'redis-cluster-%s.redis-cluster-headless.redis.svc.cluster.local' "$1"; }

cleanup() {
  for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
  for pid in $PIDS; do
    n=0
    while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf 'gen-fixtures: %s\n' "$*" >&2; }
# redis-cli as the scripts call it, authenticated.
cli() { port=$1; shift; REDISCLI_AUTH=$PASSWORD timeout 5 redis-cli --no-auth-warning -p "$port" "$@" 2>/dev/null; }
# Store what a command prints, \r and all.
capture() { name=$1; shift; "$@" > "$OUT/$name"; say "wrote $name"; }
wait_until() {
  n=0
  until "$@"; do
    n=$((n + 1)); [ "$n" -lt 300 ] || { say "timed out waiting for: $*"; exit 1; }
    sleep 0.1
  done
}
answers() { [ "$(cli "$1" ping)" = PONG ]; }

# start_node PORT ORDINAL [EXTRA CONFIG LINES...]: a cluster node announcing pod ORDINAL's name.
start_node() {
  port=$1 ordinal=$2; shift 2
  dir=$WORK/node-$port
  rm -rf "$dir"; mkdir -p "$dir"
  {
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsave ""\nappendonly no\n' "$port" "$dir"
    printf 'cluster-enabled yes\ncluster-config-file %s/nodes.conf\n' "$dir"
    printf 'cluster-node-timeout 2000\ncluster-announce-hostname %s\n' "$(host "$ordinal")"
    printf 'requirepass %s\nmasterauth %s\nlogfile %s/redis.log\n' "$PASSWORD" "$PASSWORD" "$dir"
    for line in "$@"; do printf '%s\n' "$line"; done
  } > "$dir/redis.conf"
  redis-server "$dir/redis.conf" &
  eval "PID_$port=$!"
  PIDS="$PIDS $!"
  wait_until answers "$port"
}
stop_node() {
  eval "pid=\$PID_$1"
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
holds_keys() { [ "$(cli "$1" dbsize)" -gt 0 ]; }
node_id() { cli "$1" cluster myid; }
cluster_ok() { cli "$1" cluster info | tr -d '\r' | grep -q '^cluster_state:ok'; }
flag_of() { cli "$1" cluster nodes | grep "^$2 " | cut -d' ' -f3; }
has_flag() { case ",$(flag_of "$1" "$2")," in *,"$3",*) return 0 ;; esac; return 1; }

# ---- Redis Cluster -----------------------------------------------------------------------
cluster_fixtures() {
  for i in 1 2 3 4 5 6; do start_node $((30000 + i)) $((i - 1)); done
  cli 30001 cluster info > "$OUT/cluster-info-7.0-alone.txt"; say "wrote cluster-info-7.0-alone.txt"
  cli 30001 dbsize > "$OUT/dbsize-7.0-zero.txt"
  REDISCLI_AUTH=$PASSWORD redis-cli --no-auth-warning --cluster create \
    127.0.0.1:30001 127.0.0.1:30002 127.0.0.1:30003 127.0.0.1:30004 127.0.0.1:30005 \
    127.0.0.1:30006 --cluster-replicas 1 --cluster-yes > "$WORK/create.log" 2>&1
  for p in 30001 30002 30003 30004 30005 30006; do wait_until cluster_ok "$p"; done
  # Keys on every shard, so replicas answer DBSIZE with a count.
  i=0
  while [ "$i" -lt 300 ]; do
    REDISCLI_AUTH=$PASSWORD redis-cli --no-auth-warning -c -p 30001 set "key:$i" "$i" | grep -qx OK ||
      { say "SET key:$i failed"; exit 1; }
    i=$((i + 1))
  done
  wait_until holds_keys 30004
  cli 30004 dbsize > "$OUT/dbsize-7.0-keys.txt"
  capture cluster-info-7.0-ok.txt cli 30002 cluster info
  capture cluster-nodes-7.0-formed.txt cli 30002 cluster nodes
  # Which pods replicate which master depends on --cluster create: record it.
  for p in 30001 30002 30003; do
    role=$(cli "$p" info replication | tr -d '\r' | sed -n 's/^role://p')
    [ "$role" = master ] || { say "30001-30003 should be the masters"; exit 1; }
  done
  # Pod 3 (30004) stays up throughout: its master is the one that fails over at the end.
  replica_port=30004
  master_id=$(cli 30004 cluster nodes | awk '$3 ~ /myself/ { print $4 }')
  master_port=$(cli 30004 cluster nodes | awk -v m="$master_id" '$1 == m { print $2 }')
  master_port=${master_port%%@*}; master_port=${master_port##*:}
  say "pod 3 (30004) replicates $master_port"
  for p in "$master_port" 30004; do cli "$p" cluster saveconfig > /dev/null; done
  cp "$WORK/node-$master_port/nodes.conf" "$OUT/nodes-conf-7.0-master.conf"; say "wrote nodes-conf-7.0-master.conf"
  cp "$WORK/node-30004/nodes.conf" "$OUT/nodes-conf-7.0-replica.conf"; say "wrote nodes-conf-7.0-replica.conf"
  capture info-replication-7.0-master.txt cli "$master_port" info replication
  capture info-replication-7.0-replica-up.txt cli 30004 info replication

  # A slot being migrated: slot 100 (owned by 30001) from 30001 to 30002.
  id1=$(node_id 30001) id2=$(node_id 30002)
  cli 30002 cluster setslot 100 importing "$id1" > /dev/null
  cli 30001 cluster setslot 100 migrating "$id2" > /dev/null
  cli 30001 cluster saveconfig > /dev/null
  cp "$WORK/node-30001/nodes.conf" "$OUT/nodes-conf-7.0-migrating.conf"; say "wrote nodes-conf-7.0-migrating.conf"
  capture cluster-nodes-7.0-migrating.txt cli 30001 cluster nodes
  capture cluster-nodes-7.0-importing.txt cli 30002 cluster nodes
  cli 30002 cluster setslot 100 stable > /dev/null
  cli 30001 cluster setslot 100 stable > /dev/null

  # A handshake: a MEET towards a port where nothing answers stays in handshake until it
  # times out (the node timeout).
  cli 30002 cluster meet 127.0.0.1 30030 > /dev/null
  capture cluster-nodes-7.0-handshake.txt cli 30002 cluster nodes

  # A pod comes back with an empty volume at the same address (here: the same port): the
  # others get a PONG from an unknown ID there and mark its old ID noaddr.
  old5=$(node_id 30005) old6=$(node_id 30006)
  stop_node 30006
  start_node 30006 5
  wait_until has_flag 30002 "$old6" noaddr
  capture cluster-nodes-7.0-noaddr.txt cli 30002 cluster nodes
  stop_node 30006

  # Two pods lose their data at once (pods 4 and 5, both replicas) and come back at new
  # addresses (here: ports 30008 and 30007), as new nodes. Pod 4 has met the cluster again (an
  # empty master without slots, until it replicates); pod 5 has not yet. The cluster still
  # lists both old IDs under their hostnames.
  stop_node 30005
  start_node 30008 4
  start_node 30007 5
  cli 30007 cluster myid > "$OUT/cluster-myid-7.0-pod5.txt"
  capture cluster-info-7.0-pod5-alone.txt cli 30007 cluster info
  capture cluster-nodes-7.0-pod5-alone.txt cli 30007 cluster nodes
  cli 30008 cluster meet 127.0.0.1 30001 > /dev/null
  wait_until has_flag 30002 "$old5" fail
  new4=$(node_id 30008)
  wait_until has_flag 30002 "$new4" master
  capture cluster-nodes-7.0-two-lost-pods.txt cli 30002 cluster nodes

  # A master fails over: pod 3's master stops, pod 3 takes the slots.
  other=30002; [ "$master_port" != 30002 ] || other=30003
  stop_node "$master_port"
  wait_until has_flag "$other" "$master_id" fail
  wait_until cluster_ok "$other"
  capture cluster-nodes-7.0-failed-over.txt cli "$other" cluster nodes
  capture info-replication-7.0-promoted.txt cli "$replica_port" info replication
}

# ---- Replication states and error replies ------------------------------------------------
# start_plain PORT [EXTRA CONFIG LINES...]: a non-cluster Redis.
start_plain() {
  port=$1; shift
  dir=$WORK/plain-$port
  mkdir -p "$dir"  # kept: a restart loads the dump.rdb it saved
  {
    printf 'enable-debug-command local\n'
    printf 'port %s\nbind 127.0.0.1\ndir %s\nrequirepass %s\nmasterauth %s\n' "$port" "$dir" "$PASSWORD" "$PASSWORD"
    printf 'logfile %s/redis.log\nappendonly no\n' "$dir"
    for line in "$@"; do printf '%s\n' "$line"; done
  } > "$dir/redis.conf"
  redis-server "$dir/redis.conf" &
  eval "PID_$port=$!"
  PIDS="$PIDS $!"
  wait_until answers_or_loading "$port"
}
answers_or_loading() { case "$(cli "$1" ping)" in PONG|LOADING*|MASTERDOWN*) return 0 ;; esac; return 1; }
link_is() { [ "$(cli "$1" info replication | tr -d '\r' | sed -n 's/^master_link_status://p')" = "$2" ]; }
syncing() { cli "$1" info replication | tr -d '\r' | grep -q '^master_sync_in_progress:1'; }

replication_fixtures() {
  # A master whose snapshot for the replica is slow (rdb-key-save-delay: microseconds per
  # key): the replica sits in "sync in progress" meanwhile.
  start_plain 30011 'save ""' 'repl-diskless-sync no' 'rdb-key-save-delay 200'
  cli 30011 debug populate 20000 > /dev/null
  start_plain 30012 'save ""' 'replica-serve-stale-data no' 'replicaof 127.0.0.1 30011'
  wait_until syncing 30012
  capture info-replication-7.0-replica-sync.txt cli 30012 info replication
  wait_until link_is 30012 up
  capture info-replication-7.0-master-with-replica.txt cli 30011 info replication
  stop_node 30011
  wait_until link_is 30012 down
  capture info-replication-7.0-replica-down.txt cli 30012 info replication
  # replica-serve-stale-data no: a replica without its master refuses data commands.
  capture reply-7.0-masterdown.txt cli 30012 dbsize

  # No password, a wrong password: what redis-cli prints on stdout.
  capture reply-7.0-noauth.txt sh -c 'redis-cli -p 30012 dbsize 2>/dev/null'
  capture reply-7.0-wrongpass.txt sh -c 'REDISCLI_AUTH=wrong redis-cli --no-auth-warning -p 30012 dbsize 2>/dev/null'
  capture reply-7.0-err.txt cli 30012 cluster forget 0123
  # Nothing listens: an empty output.
  capture reply-7.0-no-answer.txt cli 30029 dbsize || true

  # LOADING: a dataset that takes a while to load (key-load-delay: microseconds per key).
  start_plain 30013 'save ""' 'appendonly no'
  cli 30013 debug populate 100000 > /dev/null
  cli 30013 save > /dev/null
  stop_node 30013
  start_plain 30013 'key-load-delay 100' 'loading-process-events-interval-bytes 1024' 'save ""'
  capture reply-7.0-loading.txt cli 30013 dbsize
  case "$(cat "$OUT/reply-7.0-loading.txt")" in LOADING*) ;; *) say "30013 was not loading"; exit 1 ;; esac
  capture info-replication-7.0-loading.txt cli 30013 info replication
  stop_node 30013
}

# ---- Sentinel -----------------------------------------------------------------------------
# A Sentinel on $1 monitoring the master at $4:$2 with quorum $3; $5 (lines) goes into its
# config as well. Not in a pipeline: PIDS and PID_<port> must reach the caller.
run_sentinel() {
  port=$1 master_port=$2 quorum=$3 master_host=$4 extra=$5
  dir=$WORK/sentinel-$port
  rm -rf "$dir"; mkdir -p "$dir"
  {
    printf 'port %s\nbind 127.0.0.1\ndir %s\nlogfile %s/sentinel.log\n' "$port" "$dir" "$dir"
    printf 'requirepass %s\n%s\n' "$PASSWORD" "$extra"
    printf 'sentinel monitor mymaster %s %s %s\n' "$master_host" "$master_port" "$quorum"
    printf 'sentinel auth-pass mymaster %s\nsentinel down-after-milliseconds mymaster 1000\n' "$PASSWORD"
  } > "$dir/sentinel.conf"
  redis-sentinel "$dir/sentinel.conf" &
  eval "PID_$port=$!"
  PIDS="$PIDS $!"
  wait_until answers "$port"
}
start_sentinel() {
  run_sentinel "$1" "$2" 1 localhost "sentinel resolve-hostnames yes
sentinel announce-hostnames yes"
}
sentinel_flags() { cli "$1" sentinel master mymaster | sed -n '/^flags$/{n;p;}'; }
sentinel_has_flag() { case ",$(sentinel_flags "$1")," in *,"$2",*) return 0 ;; esac; return 1; }
sentinel_flags_are() { [ "$(sentinel_flags "$1")" = "$2" ]; }
knows_replica() { [ "$(cli "$1" sentinel master mymaster | sed -n '/^num-slaves$/{n;p;}')" = 1 ]; }

sentinel_fixtures() {
  # A Sentinel whose master never answered: runid is empty.
  start_sentinel 30021 30019
  capture sentinel-master-7.0-never-seen.txt cli 30021 sentinel master mymaster
  wait_until sentinel_has_flag 30021 s_down
  capture sentinel-master-7.0-sdown.txt cli 30021 sentinel master mymaster
  capture sentinel-no-such-master-7.0.txt cli 30021 sentinel master othermaster
  capture sentinel-noauth-7.0.txt sh -c 'redis-cli -p 30021 sentinel master mymaster 2>/dev/null'
  # A healthy master with one replica.
  start_plain 30015 'save ""' 'replica-announce-ip localhost'
  start_plain 30016 'save ""' 'replica-announce-ip localhost' 'replicaof localhost 30015'
  start_sentinel 30022 30015
  wait_until knows_replica 30022
  wait_until sentinel_flags_are 30022 master
  capture sentinel-master-7.0-ok.txt cli 30022 sentinel master mymaster
  capture sentinel-get-master-addr-7.0.txt cli 30022 sentinel get-master-addr-by-name mymaster
  capture sentinel-get-master-addr-7.0-unknown-set.txt cli 30022 sentinel get-master-addr-by-name othermaster
  capture sentinel-failover-7.0-ok.txt cli 30022 sentinel failover mymaster
  capture sentinel-failover-7.0-in-progress.txt cli 30022 sentinel failover mymaster
  # sentinel.conf as Sentinel rewrites it (known replica, myid, epochs, `user default`).
  cli 30022 sentinel flushconfig > /dev/null
  sed -e "s|$WORK|/data|g" "$WORK/sentinel-30022/sentinel.conf" > "$OUT/sentinel-conf-7.0.conf"
  say "wrote sentinel-conf-7.0.conf"
}

# ---- Hand-overs: both modes' preStop ----------------------------------------------------
role_is() { [ "$(cli "$1" info replication | tr -d '\r' | sed -n 's/^role://p')" = "$2" ]; }
online_replicas() { [ "$(cli "$1" info replication | tr -d '\r' | grep -c '^slave[0-9]*:.*state=online')" = "$2" ]; }
sentinel_pod_host() { printf 'redis-sentinel-%s.redis-sentinel-headless.redis.svc.cluster.local' "$1"; }

handover_fixtures() {
  # A cluster of 3 masters x 2 replicas: --cluster create makes the first three masters.
  for i in 1 2 3 4 5 6 7 8 9; do start_node $((30040 + i)) $((i - 1)); done
  REDISCLI_AUTH=$PASSWORD redis-cli --no-auth-warning --cluster create \
    127.0.0.1:30041 127.0.0.1:30042 127.0.0.1:30043 127.0.0.1:30044 127.0.0.1:30045 \
    127.0.0.1:30046 127.0.0.1:30047 127.0.0.1:30048 127.0.0.1:30049 \
    --cluster-replicas 2 --cluster-yes > "$WORK/create-handover.log" 2>&1
  for p in 30041 30042 30043 30044 30045 30046 30047 30048 30049; do wait_until cluster_ok "$p"; done
  # Writes, so offsets are not 0.
  i=0
  while [ "$i" -lt 100 ]; do
    REDISCLI_AUTH=$PASSWORD redis-cli --no-auth-warning -c -p 30041 set "key:$i" "$i" > /dev/null
    i=$((i + 1))
  done
  wait_until online_replicas 30041 2
  sleep 1.5  # a REPLCONF ACK from each replica: their offsets in the slaveN lines
  capture info-replication-7.0-master-two-replicas.txt cli 30041 info replication
  replica=$(tr -d '\r' < "$OUT/info-replication-7.0-master-two-replicas.txt" | sed -n 's/^slave0:.*port=\([0-9]*\),.*/\1/p')
  # CLUSTER FAILOVER sent to a master is refused; sent to a replica, it hands over.
  capture reply-7.0-cluster-failover-to-master.txt cli 30041 cluster failover
  capture reply-7.0-cluster-failover-ok.txt cli "$replica" cluster failover
  wait_until role_is 30041 slave
  wait_until role_is "$replica" master
  capture info-replication-7.0-demoted.txt cli 30041 info replication
  capture reply-7.0-client-pause-ok.txt cli "$replica" client pause 1000 write
  capture reply-7.0-client-unpause-ok.txt cli "$replica" client unpause
  capture reply-7.0-config-get-repl-ping-replica-period.txt cli "$replica" config get repl-ping-replica-period
  capture reply-7.0-config-set-ok.txt cli "$replica" config set repl-ping-replica-period 10

  # A plain master whose two replicas announce the Sentinel profile's pod names, as in
  # Sentinel mode (replica-announce-ip).
  start_plain 30051 'save ""'
  start_plain 30052 'save ""' "replica-announce-ip $(sentinel_pod_host 1)" 'replicaof 127.0.0.1 30051'
  start_plain 30053 'save ""' "replica-announce-ip $(sentinel_pod_host 2)" 'replicaof 127.0.0.1 30051'
  cli 30051 set key 1 > /dev/null
  wait_until online_replicas 30051 2
  sleep 1.5
  capture info-replication-7.0-master-two-named-replicas.txt cli 30051 info replication
}

# ---- Sentinels' peer lists: the Sentinel reconcile Job (gen-fixtures.sh sentinel-peers) ------
# A master with two replicas and three Sentinels on 127.0.0.1 (ports 30061-30074); the unit
# tests rewrite the hosts of these replies to pod names, entry by entry.
start_peer_sentinel() {
  run_sentinel "$1" "$2" "$3" 127.0.0.1 "sentinel sentinel-pass $PASSWORD"
}
count_of() { [ "$(cli "$1" sentinel "$2" mymaster | grep -c '^name$')" = "$3" ]; }
flagged() { [ "$(cli "$1" sentinel "$2" mymaster | grep -c "^$3,")" = "$4" ]; }

sentinel_peer_fixtures() {
  start_plain 30061 'save ""'
  start_plain 30062 'save ""' 'replicaof 127.0.0.1 30061'
  start_plain 30063 'save ""' 'replicaof 127.0.0.1 30061'
  for p in 30071 30072 30073; do start_peer_sentinel "$p" 30061 2; done
  wait_until count_of 30071 replicas 2
  wait_until count_of 30071 sentinels 2
  capture sentinel-replicas-7.0-two.txt cli 30071 sentinel replicas mymaster
  capture sentinel-sentinels-7.0-two.txt cli 30071 sentinel sentinels mymaster
  capture sentinel-ckquorum-7.0-ok.txt cli 30071 sentinel ckquorum mymaster
  capture sentinel-set-7.0-ok.txt cli 30071 sentinel set mymaster quorum 2
  # A replica and a Sentinel stop: the others see them s_down.
  stop_node 30063
  stop_node 30073
  wait_until flagged 30071 replicas s_down 1
  wait_until flagged 30071 sentinels s_down 1
  capture sentinel-replicas-7.0-one-sdown.txt cli 30071 sentinel replicas mymaster
  capture sentinel-sentinels-7.0-one-sdown.txt cli 30071 sentinel sentinels mymaster
  cli 30071 sentinel set mymaster quorum 3 > /dev/null
  capture sentinel-ckquorum-7.0-no-quorum.txt cli 30071 sentinel ckquorum mymaster
  capture sentinel-reset-7.0-one.txt cli 30072 sentinel reset mymaster
  # Empty lists: a Sentinel of a master without replicas, alone.
  start_plain 30064 'save ""'
  start_peer_sentinel 30074 30064 1
  capture sentinel-replicas-7.0-none.txt cli 30074 sentinel replicas mymaster
  capture sentinel-sentinels-7.0-none.txt cli 30074 sentinel sentinels mymaster
}

mkdir -p "$OUT"
case "${1:-all}" in
  handover) handover_fixtures ;;
  sentinel-peers) sentinel_peer_fixtures ;;
  all)
    cluster_fixtures
    replication_fixtures
    sentinel_fixtures
    handover_fixtures
    sentinel_peer_fixtures ;;
  *) say "usage: $0 [handover|sentinel-peers]"; exit 2 ;;
esac
say "done"
