"""The continuous writer of the day-2 scenarios, run INSIDE the e2e client pod (pod addresses
exist only in pod namespaces).

    python day2_writer.py write   (stdin: one JSON line, then any line or EOF = stop)
    python day2_writer.py read < request.json
Each prints one JSON document on stdout. The password comes from E2E_REDIS_PASSWORD.

write: {"mode": "cluster" | "sentinel", "seeds": ["host:port"], "sentinels": ["host:port"],
        "master_set": "mymaster", "lanes": [{"name": "a", "slot": 2730}], "prefix": "d2",
        "interval_ms": 20, "wait_timeout_ms": 1000, "max_seconds": 900}
  One thread per lane. Each lane writes `SET key value` then `WAIT 1 <wait_timeout_ms>` on the
  same connection, then sleeps until interval_ms after the attempt began (no sleep when the
  attempt took longer). Cluster mode: a lane's keys share a hash tag in its `slot`; its own
  slot map (CLUSTER SLOTS from any node it knows, seeds by DNS name), MOVED (map entry
  updated, retried at once) and ASK (ASKING on the target) handled, the map refreshed after
  any other failure. Sentinel mode: the Sentinels are asked for the master after every
  failure (an error, or WAIT reaching no replica). A write is acknowledged only when SET
  answered OK and WAIT returned >= 1.
  -> {"lanes": {name: {"slot": s, "tag": t, "t": [...], "o": [...]}}, "errors": {...},
      "error_samples": [[t, lane, message]], "started": t0, "stopped": t1}
     t: the monotonic time each attempt ended (the host's clock: no time namespace);
     s: when its SET answered OK (0: it did not); o: 0 acknowledged, 1 SET accepted but
     WAIT reached no replica, 2 failed (no SET reply OK). Attempt i of a lane wrote
     key_of(prefix, lane, i). SET goes alone and WAIT only after an OK.
read:  {"mode", "seeds" | "sentinels"+"master_set", "keys": [...]}
  -> {"missing": [...], "wrong": [...], "errors": [...]} (from the master of each key)
load:  {"mode", "seeds" | "sentinels"+"master_set", "megabytes": M, "value_kb": K}
  -> {"keys": n, "bytes": b, "replicated": {master: replicas WAIT reached}}
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

CONNECT_TIMEOUT = 0.5
SOCKET_SLACK = 1.0     # socket timeout = WAIT timeout + this
REFRESH_EVERY = 0.2    # at most one slot map refresh per this many seconds
REFRESH_BUDGET = 2.0   # a refresh gives up after this many seconds
SAMPLES = 2000
SAMPLE_EVERY = 0.5
SENTINEL_TIMEOUT = 0.5


def key_of(prefix: str, lane: str, tag: str, i: int) -> str:
    return f"{prefix}:{{{tag}}}:{lane}:{i}" if tag else f"{prefix}:{lane}:{i}"


def value_of(key: str) -> str:
    return f"v:{key}"


def tag_for_slot(slot: int) -> str:
    """A hash tag whose keys map to SLOT."""
    n = 0
    while key_slot(str(n).encode()) != slot:
        n += 1
    return str(n)


def connect(addr: str, timeout: float) -> redis.Redis:
    """A connection that never retries by itself (redis-py's default retries a failed
    command three times with backoff, which would hide seconds from the record)."""
    host, port = addr.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), password=os.environ.get("E2E_REDIS_PASSWORD"),
                    decode_responses=True, socket_timeout=timeout,
                    socket_connect_timeout=CONNECT_TIMEOUT, retry=Retry(NoBackoff(), 0))
    r.response_callbacks.clear()  # raw replies
    return r


class Log:
    """Error counts by kind, and samples: a lane's error is kept when its kind differs from
    that lane's last sample or SAMPLE_EVERY seconds have passed (so a long outage does not
    use up the samples in its first second)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.samples: list = []
        self.last: dict[str, tuple[str, float]] = {}

    def error(self, lane: str, what: str) -> None:
        kind = what.split(":", 1)[0][:60]
        now = time.monotonic()
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            last_kind, last_t = self.last.get(lane, ("", 0.0))
            if len(self.samples) < SAMPLES and (kind != last_kind
                                                or now - last_t >= SAMPLE_EVERY):
                self.samples.append([round(now, 3), lane, what[:200]])
                self.last[lane] = (kind, now)


# -- cluster mode ------------------------------------------------------------------------------


class SlotMap:
    """Slot -> master address, from CLUSTER SLOTS of any node this client knows: the masters
    of the last map first, then the seeds (DNS names first: they follow pods to new IPs)."""

    def __init__(self, seeds: list[str], timeout: float):
        self.seeds = sorted(seeds, key=lambda a: a.split(":")[0].replace(".", "").isdigit())
        self.timeout = timeout
        self.slots: list[str | None] = [None] * 16384
        self.known: list[str] = []
        self.lock = threading.Lock()
        self.refreshed = 0.0

    def master(self, slot: int) -> str | None:
        return self.slots[slot]

    def moved(self, slot: int, addr: str) -> None:
        self.slots[slot] = addr

    def refresh(self, force: bool = False) -> bool:
        """A new map from the first node that answers; without FORCE at most once per
        REFRESH_EVERY and never waiting for another lane's refresh."""
        if not self.lock.acquire(blocking=force):
            return False
        try:
            if not force and time.monotonic() - self.refreshed < REFRESH_EVERY:
                return False
            self.refreshed = time.monotonic()
            return self._refresh(self.refreshed + REFRESH_BUDGET)
        finally:
            self.lock.release()

    def _refresh(self, budget: float) -> bool:
        candidates = self.known + [s for s in self.seeds if s not in self.known]
        for addr in candidates:
            if time.monotonic() > budget:
                break
            try:
                r = connect(addr, self.timeout)
                reply = r.execute_command("CLUSTER", "SLOTS")
                r.close()
            except (redis.RedisError, OSError):
                continue
            slots: list[str | None] = [None] * 16384
            masters = []
            for entry in reply:
                start, end, master = int(entry[0]), int(entry[1]), entry[2]
                a = f"{master[0]}:{master[1]}"
                masters.append(a)
                for s in range(start, end + 1):
                    slots[s] = a
            if not masters:
                continue
            self.slots = slots
            # The node that answered first, then the masters; dead ones leave the list.
            self.known = [addr] + [m for m in dict.fromkeys(masters) if m != addr]
            return True
        return False


def cluster_attempt(smap: SlotMap, conns: dict, slot: int, key: str, wait_ms: int,
                    timeout: float, accepted) -> tuple[int, str]:
    """(outcome, error text): 0 acknowledged, 1 accepted not acknowledged, 2 failed.
    SET goes alone (a WAIT behind a refused SET would only block); ACCEPTED(t) is called when
    it answered OK, before the WAIT."""
    addr = smap.master(slot)
    if addr is None:
        smap.refresh(force=True)
        addr = smap.master(slot)
        if addr is None:
            return 2, "NOMAP: no node serves the slot"
    asking = set_done = False
    for _ in range(3):  # at most two redirections
        r = conns.get(addr)
        if r is None:
            r = conns[addr] = connect(addr, timeout)
        try:
            if asking:
                pipe = r.pipeline(transaction=False)
                pipe.execute_command("ASKING")
                pipe.execute_command("SET", key, value_of(key))
                set_reply = pipe.execute(raise_on_error=False)[-1]
            else:
                try:
                    set_reply = r.execute_command("SET", key, value_of(key))
                except redis.ResponseError as e:
                    set_reply = e
            if isinstance(set_reply, Exception):
                moved = _redirect(set_reply)
                if moved:
                    kind, target = moved
                    if kind == "MOVED":
                        smap.moved(slot, target)
                    asking = kind == "ASK"
                    addr = target
                    continue
                smap.refresh()
                return 2, f"{type(set_reply).__name__}: {set_reply}"
            if set_reply not in ("OK", b"OK", True):
                return 2, f"SET answered {set_reply!r}"
            accepted(time.monotonic())
            set_done = True
            # WAIT on the same connection: it counts the replicas that have this write.
            reached = r.execute_command("WAIT", 1, wait_ms)
        except (redis.RedisError, OSError) as e:
            if not isinstance(e, redis.ResponseError):
                conns.pop(addr, None)
                r.close()
                smap.refresh()
            return 1 if set_done else 2, f"{type(e).__name__}: {e}"
        return (0, "") if int(reached) >= 1 else (1, "WAIT: no replica acknowledged")
    return 2, "REDIRECTS: too many redirections"


def _redirect(err: Exception) -> tuple[str, str] | None:
    """("MOVED" | "ASK", "host:port") for a redirection error."""
    if isinstance(err, redis.exceptions.AskError):  # MovedError is a subclass
        kind = "MOVED" if isinstance(err, redis.exceptions.MovedError) else "ASK"
        return kind, f"{err.host}:{err.port}"
    text = str(err)
    for kind in ("MOVED", "ASK"):
        if text.startswith(kind + " "):
            return kind, text.split()[2]
    return None


# -- sentinel mode -----------------------------------------------------------------------------


def ask_sentinels(sentinels: list[str], master_set: str) -> str | None:
    """The master the first answering Sentinel names; that Sentinel moves to the front of
    SENTINELS (as redis-py's Sentinel client does), so a gone one costs time only once."""
    for addr in list(sentinels):
        try:
            s = connect(addr, SENTINEL_TIMEOUT)
            reply = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_set)
            s.close()
        except (redis.RedisError, OSError):
            continue
        if reply:
            sentinels.remove(addr)
            sentinels.insert(0, addr)
            return f"{reply[0]}:{reply[1]}"
    return None


def sentinel_attempt(state: dict, req: dict, key: str, wait_ms: int,
                     timeout: float, accepted) -> tuple[int, str]:
    if state.get("conn") is None:
        asked = time.monotonic()
        master = ask_sentinels(state.setdefault("sentinels", list(req["sentinels"])),
                               req["master_set"])
        state["asked"] = f"(master {master} named in {time.monotonic() - asked:.2f}s)"
        if master is None:
            return 2, "NOMASTER: no Sentinel named a master"
        state["conn"] = connect(master, timeout)
        state["master"] = master
    r = state["conn"]
    set_done = False
    try:
        try:
            set_reply = r.execute_command("SET", key, value_of(key))
        except redis.ResponseError as e:
            set_reply = e
        if isinstance(set_reply, Exception) or set_reply not in ("OK", b"OK", True):
            r.close()
            state["conn"] = None
            return 2, f"{type(set_reply).__name__}: {set_reply} {state.get('asked', '')}"
        accepted(time.monotonic())
        set_done = True
        wait_reply = r.execute_command("WAIT", 1, wait_ms)
    except (redis.RedisError, OSError) as e:
        r.close()
        state["conn"] = None
        return 1 if set_done else 2, f"{type(e).__name__}: {e}"
    if int(wait_reply) < 1:
        state["conn"] = None  # ask the Sentinels again: this may no longer be the master
        r.close()
        return 1, f"WAIT: {wait_reply}"
    return 0, ""


# -- the writer --------------------------------------------------------------------------------


def write(req: dict, stop: threading.Event) -> dict:
    interval = req.get("interval_ms", 20) / 1000
    wait_ms = int(req.get("wait_timeout_ms", 1000))
    timeout = wait_ms / 1000 + SOCKET_SLACK
    cluster = req["mode"] == "cluster"
    smap = SlotMap(req.get("seeds", []), timeout) if cluster else None
    if smap:
        smap.refresh(force=True)
    log = Log()
    out = {"lanes": {}, "started": round(time.monotonic(), 3)}
    deadline = time.monotonic() + req.get("max_seconds", 900)

    def lane_loop(lane: dict) -> None:
        name = lane["name"]
        slot = lane.get("slot")
        tag = tag_for_slot(slot) if cluster else ""
        rec = out["lanes"][name] = {"slot": slot, "tag": tag, "t": [], "o": [], "s": []}
        conns: dict = {}
        state: dict = {}
        i = 0
        # Lanes start spread over one interval.
        time.sleep(random.random() * interval)
        while not stop.is_set() and time.monotonic() < deadline:
            began = time.monotonic()
            key = key_of(req["prefix"], name, tag, i)
            set_ok = []
            try:
                if cluster:
                    outcome, why = cluster_attempt(smap, conns, slot, key, wait_ms, timeout,
                                                   set_ok.append)
                else:
                    outcome, why = sentinel_attempt(state, req, key, wait_ms, timeout,
                                                    set_ok.append)
            except Exception as e:  # never let a lane die silently
                outcome, why = 2, f"BUG {type(e).__name__}: {e}"
            rec["t"].append(round(time.monotonic(), 4))
            rec["o"].append(outcome)
            rec["s"].append(round(set_ok[0], 4) if set_ok else 0)
            if why:
                log.error(name, why)
            i += 1
            pause = interval - (time.monotonic() - began)
            if pause > 0:
                stop.wait(pause)

    threads = [threading.Thread(target=lane_loop, args=(lane,), daemon=True)
               for lane in req["lanes"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["stopped"] = round(time.monotonic(), 3)
    out["errors"] = log.counts
    out["error_samples"] = log.samples
    return out


# -- read-back ---------------------------------------------------------------------------------


def read(req: dict) -> dict:
    missing, wrong, errors = [], [], []
    keys = req["keys"]
    if req["mode"] == "cluster":
        smap = SlotMap(req["seeds"], 10.0)
        if not smap.refresh(force=True):
            return {"missing": keys, "wrong": [], "errors": ["no node answered CLUSTER SLOTS"]}
        by_slot: dict[int, list[str]] = {}
        for k in keys:
            by_slot.setdefault(key_slot(k.encode()), []).append(k)
        groups = list(by_slot.items())
    else:
        groups = [(None, keys)]
    conns: dict[str, redis.Redis] = {}
    for slot, group in groups:
        for start in range(0, len(group), 500):
            chunk = group[start:start + 500]
            values = None
            for _ in range(5):
                if slot is None:
                    addr = ask_sentinels(req["sentinels"], req["master_set"])
                else:
                    addr = smap.master(slot)
                try:
                    if addr is None:
                        raise redis.ConnectionError("no master known")
                    r = conns.get(addr) or conns.setdefault(addr, connect(addr, 10.0))
                    values = r.execute_command("MGET", *chunk)
                    break
                except (redis.RedisError, OSError) as e:
                    errors.append(f"{addr}: {type(e).__name__}: {e}"[:200])
                    conns.pop(addr, None) if addr else None
                    if slot is not None:
                        moved = _redirect(e)
                        if moved and moved[0] == "MOVED":
                            smap.moved(slot, moved[1])
                        else:
                            smap.refresh(force=True)
                    time.sleep(0.5)
            if values is None:
                missing += chunk
                continue
            for k, v in zip(chunk, values):
                if v is None:
                    missing.append(k)
                elif v != value_of(k):
                    wrong.append(k)
    return {"missing": missing, "wrong": wrong, "errors": errors[:50]}


# -- bulk data ---------------------------------------------------------------------------------


def load(req: dict) -> dict:
    """MEGABYTES of VALUE_KB values under keys d2load:<n> spread over every slot range,
    pipelined per master; then WAIT 1 on each master connection, so it is replicated."""
    n_keys = req["megabytes"] * 1024 // req["value_kb"]
    value = os.urandom(req["value_kb"] * 512).hex()
    conns: dict[str, redis.Redis] = {}
    by_addr: dict[str, list[str]] = {}
    if req["mode"] == "cluster":
        smap = SlotMap(req["seeds"], 60.0)
        if not smap.refresh(force=True):
            raise SystemExit("no node answered CLUSTER SLOTS")
        for i in range(n_keys):
            key = f"d2load:{i}"
            by_addr.setdefault(smap.master(key_slot(key.encode())), []).append(key)
    else:
        master = ask_sentinels(req["sentinels"], req["master_set"])
        by_addr[master] = [f"d2load:{i}" for i in range(n_keys)]
    replicated = {}
    for addr, keys in by_addr.items():
        r = conns.setdefault(addr, connect(addr, 60.0))
        for start in range(0, len(keys), 8):
            pipe = r.pipeline(transaction=False)
            for k in keys[start:start + 8]:
                pipe.execute_command("SET", k, value)
            pipe.execute()
        replicated[addr] = int(r.execute_command("WAIT", 1, 30000))
    return {"keys": n_keys, "bytes": n_keys * len(value), "replicated": replicated}


def main() -> int:
    commands = {"read": read, "load": load}
    if len(sys.argv) != 2 or sys.argv[1] not in ("write", *commands):
        print("usage: day2_writer.py {write,read,load}", file=sys.stderr)
        return 2
    if sys.argv[1] in commands:
        json.dump(commands[sys.argv[1]](json.load(sys.stdin)), sys.stdout)
        return 0
    req = json.loads(sys.stdin.readline())
    stop = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.readline()  # a line or EOF
        stop.set()
    threading.Thread(target=wait_for_stop, daemon=True).start()
    print(f"writer started: {len(req['lanes'])} lanes, mode {req['mode']}", file=sys.stderr,
          flush=True)
    json.dump(write(req, stop), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
