"""Test client, run INSIDE the e2e client pod (pod addresses exist only in pod namespaces).

    python redis_client.py COMMAND < request.json   ->   one JSON document on stdout

The password comes from the environment (E2E_REDIS_PASSWORD), never from argv. Commands:
  snapshot  {"nodes": {"pod": "ip:port"}}
            -> {"pod": {"nodes": CLUSTER NODES, "info": CLUSTER INFO, "replication": INFO
               replication} or {"error": "..."}}; raw data, judged by cluster_health.py.
  write     {"startup": ["ip:port"], "prefix": "k", "count": 1000, "replicas": 1,
             "wait_timeout_ms": 2000}
            -> {"acked": [keys], "unacked": {"key": "why"}}: each SET followed by
               WAIT <replicas> <timeout> on the same connection; acked = WAIT reached them.
  read      {"startup": ["ip:port"], "keys": [...]}  -> {"missing": [...], "wrong": [...]}
Values are derived from keys (value_of), so a read checks content as well as presence.
"""

from __future__ import annotations

import json
import os
import sys
import time

import redis
from redis.cluster import ClusterNode, RedisCluster

TIMEOUT = 5.0


def value_of(key: str) -> str:
    return f"value-of-{key}"


def password() -> str | None:
    return os.environ.get("E2E_REDIS_PASSWORD") or None


def node(addr: str) -> redis.Redis:
    """A plain connection that returns replies as the server sent them (no parsing: the
    harness judges raw CLUSTER NODES / INFO text)."""
    host, port = addr.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), password=password(), decode_responses=True,
                    socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    r.response_callbacks.clear()
    return r


def snapshot(req: dict) -> dict:
    out = {}
    for pod, addr in req["nodes"].items():
        try:
            r = node(addr)
            out[pod] = {
                "nodes": r.execute_command("CLUSTER", "NODES"),
                "info": r.execute_command("CLUSTER", "INFO"),
                "replication": r.execute_command("INFO", "replication"),
            }
            r.close()
        except (redis.RedisError, OSError) as e:
            out[pod] = {"error": f"{type(e).__name__}: {e}"}
    return out


def cluster_client(startup: list[str]) -> RedisCluster:
    nodes = [ClusterNode(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in startup]
    return RedisCluster(startup_nodes=nodes, password=password(), decode_responses=True,
                        socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)


def write(req: dict) -> dict:
    rc = cluster_client(req["startup"])
    acked, unacked = [], {}
    deadline = time.monotonic() + req.get("budget_s", 120)
    for i in range(req["count"]):
        key = f"{req['prefix']}:{i}"
        if time.monotonic() > deadline:
            unacked[key] = "write budget exhausted"
            continue
        why = _write_one(rc, key, req["replicas"], req["wait_timeout_ms"])
        if why:
            unacked[key] = why
        else:
            acked.append(key)
    rc.close()
    return {"acked": acked, "unacked": unacked}


def _write_one(rc: RedisCluster, key: str, replicas: int, wait_ms: int) -> str | None:
    """SET then WAIT on the same connection (WAIT counts the replicas that acknowledged this
    connection's writes). Returns why the write is not acknowledged, or None."""
    why = "no attempt"
    for _ in range(3):
        try:
            conn = rc.get_redis_connection(rc.get_node_from_key(key))
            pipe = conn.pipeline(transaction=False)
            pipe.set(key, value_of(key))
            pipe.execute_command("WAIT", replicas, wait_ms)
            ok, reached = pipe.execute()
            if ok and int(reached) >= replicas:
                return None
            why = f"SET={ok} WAIT reached {reached} of {replicas} replicas"
        except (redis.RedisError, OSError) as e:
            why = f"{type(e).__name__}: {e}"
            rc.nodes_manager.initialize()  # MOVED or a dead node: refresh the slot map
    return why


def read(req: dict) -> dict:
    rc = cluster_client(req["startup"])
    missing, wrong = [], []
    keys = req["keys"]
    for start in range(0, len(keys), 200):
        chunk = keys[start:start + 200]
        values = rc.mget_nonatomic(chunk)
        for k, v in zip(chunk, values):
            if v is None:
                missing.append(k)
            elif v != value_of(k):
                wrong.append(k)
    rc.close()
    return {"missing": missing, "wrong": wrong}


COMMANDS = {"snapshot": snapshot, "write": write, "read": read}


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: redis_client.py {{{','.join(COMMANDS)}}} < request.json", file=sys.stderr)
        return 2
    req = json.load(sys.stdin)
    json.dump(COMMANDS[sys.argv[1]](req), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
