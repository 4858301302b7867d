"""Sentinel-mode test client, run INSIDE the e2e client pod (pod addresses exist only there).

    python sentinel_client.py COMMAND < request.json   ->   one JSON document on stdout

The password comes from the environment (E2E_REDIS_PASSWORD), never from argv. Commands:
  view   {"redis": {"pod": "host"}, "sentinels": {"pod": "host"}, "port": P,
          "sentinel_port": SP, "set": "mymaster"}
         -> {"redis": {"pod": {"role": ..., "master_host": ..., "master_link_status": ...}
                       or {"error": ...}},
             "sentinels": {"pod": {"master": {SENTINEL MASTER fields}, "replicas": [{...}],
                                   "sentinels": [{...}]} or {"error": ...}}}
  write  {"host": H, "port": P, "prefix": "k", "count": N, "wait_timeout_ms": T}
         -> {"acked": [keys], "unacked": {"key": "why"}}: SET then WAIT 1 T per key.
  read   {"host": H, "port": P, "keys": [...]} -> {"missing": [...], "wrong": [...]}
"""

from __future__ import annotations

import json
import os
import sys

import redis

TIMEOUT = 5.0


def value_of(key: str) -> str:
    return f"value-of-{key}"


def conn(host: str, port: int) -> redis.Redis:
    r = redis.Redis(host=host, port=port, password=os.environ.get("E2E_REDIS_PASSWORD"),
                    decode_responses=True, socket_timeout=TIMEOUT,
                    socket_connect_timeout=TIMEOUT)
    r.response_callbacks.clear()  # raw replies: the test judges them itself
    return r


def pairs(reply) -> dict:
    """A Sentinel map reply: a dict under RESP3, a flat key/value list under RESP2."""
    if isinstance(reply, dict):
        return {str(k): v for k, v in reply.items()}
    return dict(zip(reply[0::2], reply[1::2]))


def info_fields(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def view(req: dict) -> dict:
    out = {"redis": {}, "sentinels": {}}
    for pod, host in req["redis"].items():
        try:
            r = conn(host, req["port"])
            out["redis"][pod] = info_fields(r.execute_command("INFO", "replication"))
            r.close()
        except (redis.RedisError, OSError) as e:
            out["redis"][pod] = {"error": f"{type(e).__name__}: {e}"}
    for pod, host in req["sentinels"].items():
        try:
            s = conn(host, req["sentinel_port"])
            name = req["set"]
            out["sentinels"][pod] = {
                "master": pairs(s.execute_command("SENTINEL", "MASTER", name)),
                "replicas": [pairs(x) for x in s.execute_command("SENTINEL", "REPLICAS", name)],
                "sentinels": [pairs(x) for x in s.execute_command("SENTINEL", "SENTINELS", name)],
            }
            s.close()
        except (redis.RedisError, OSError) as e:
            out["sentinels"][pod] = {"error": f"{type(e).__name__}: {e}"}
    return out


def write(req: dict) -> dict:
    r = conn(req["host"], req["port"])
    acked, unacked = [], {}
    for i in range(req["count"]):
        key = f"{req['prefix']}{i}"
        try:
            r.execute_command("SET", key, value_of(key))
            reached = int(r.execute_command("WAIT", 1, req["wait_timeout_ms"]))
            if reached >= 1:
                acked.append(key)
            else:
                unacked[key] = "WAIT reached no replica"
        except (redis.RedisError, OSError) as e:
            unacked[key] = f"{type(e).__name__}: {e}"
    return {"acked": acked, "unacked": unacked}


def read(req: dict) -> dict:
    r = conn(req["host"], req["port"])
    missing, wrong = [], []
    for key in req["keys"]:
        value = r.execute_command("GET", key)
        if value is None:
            missing.append(key)
        elif value != value_of(key):
            wrong.append(key)
    return {"missing": missing, "wrong": wrong}


def failover(req: dict) -> dict:
    """SENTINEL FAILOVER on the Sentinel at host:sentinel_port: its answer, or the error."""
    try:
        s = conn(req["host"], req["sentinel_port"])
        return {"reply": str(s.execute_command("SENTINEL", "FAILOVER", req["set"]))}
    except (redis.RedisError, OSError) as e:
        return {"error": f"{type(e).__name__}: {e}"}


if __name__ == "__main__":
    commands = {"view": view, "write": write, "read": read, "failover": failover}
    request = json.load(sys.stdin)
    json.dump(commands[sys.argv[1]](request), sys.stdout)
