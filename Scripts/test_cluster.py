#!/usr/bin/env python3
"""Replicas behind HAProxy, checked from outside: three `graft serve` replicas on loopback sharing
one registry (GRAFT_HOME), HAProxy (Debian's) configured by `graft deploy haproxy`, load from
`graft loadtest`, and `graft rollout`. Every figure the note quotes is printed; exit status 1 on
the first failed check.

1. Affinity: one request at a time, each of six adapters always goes to the same replica; under an
   even load of all six, at least 90% of each adapter's requests are served there (bounded load
   moves the rest when a replica momentarily holds more than 1.5x the average in flight).
2. A rolling update (sql@1 -> sql@2, published while the load runs) with zero failed requests,
   and one (a0@1 -> a0@2) that watches a version serve worse and rolls itself back.
3. kill -9 of one replica under load: HAProxy marks it down within its check interval; only the
   requests in flight on it fail; a load started after that has no failures, and the adapters the
   dead replica held are loaded and served by the others.

    Scripts/test_cluster.py --graft .build/release/graft --model models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import argparse
import array
import csv
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "peft_import")
CHECK_INTERVAL = 0.5
# Six adapter names that HAProxy's consistent-hash ring (keyed by server ids, so the same on every
# machine) places two on each of the three replicas: an even load, under which bounded load moves
# nothing and affinity is exact. The test prints the placement it finds.
ADAPTERS = ["a0", "a1", "a2", "a3", "a5", "b0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        sys.exit(1)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def variant(source, target, k):
    """A copy of the PEFT fixture whose lora_B tensors are scaled by ±2^(k//2): another adapter with
    other weights (bf16: the exponent moves by k//2, the sign flips on odd k)."""
    shutil.copytree(source, target)
    path = os.path.join(target, "adapter_model.safetensors")
    data = bytearray(open(path, "rb").read())
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    for name, info in header.items():
        if name == "__metadata__" or "lora_B" not in name:
            continue
        lo, hi = info["data_offsets"]
        values = array.array("H", bytes(data[8 + n + lo:8 + n + hi]))
        for i, v in enumerate(values):
            exponent = (v >> 7) & 0xFF
            if 0 < exponent < 0xFE - k:
                v += (k // 2) << 7
            if k % 2:
                v ^= 0x8000
            values[i] = v
        data[8 + n + lo:8 + n + hi] = values.tobytes()
    open(path, "wb").write(bytes(data))


class Replica:
    def __init__(self, args, home, index):
        self.index = index
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(home, f"replica{index + 1}.log"), "w")
        self.proc = subprocess.Popen([args.graft, "serve", "--model", args.model, "--port", str(self.port), "--threads", "1",
                                      "--kv-budget", "256M", "--max-batch", "16", "--max-queue", "512"],
                                     env=dict(os.environ, GRAFT_HOME=home), stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        for _ in range(1200):
            if self.proc.poll() is not None:
                raise SystemExit(f"replica {self.index + 1} exited: {open(self.log.name).read()}")
            try:
                if get(self.url + "/ready", 1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"replica {self.index + 1} did not come up")

    def requests_by_model(self):
        out = {}
        for line in get(self.url + "/metrics")[1].splitlines():
            if line.startswith("graft_requests_total{"):
                labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].split(","))
                model = labels["model"].strip('"')
                out[model] = out.get(model, 0) + float(line.rsplit(" ", 1)[1])
        return out

    def loaded(self):
        return sorted(item["model"] for item in json.loads(get(self.url + "/v1/adapters")[1])["data"])


class HAProxy:
    def __init__(self, args, home, replicas):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(home, "haproxy.cfg")
        out = subprocess.run([args.graft, "deploy", "haproxy", "--replicas", ",".join(f"127.0.0.1:{r.port}" for r in replicas),
                              "--port", str(self.port), "--bind", "127.0.0.1", "--check-interval", str(CHECK_INTERVAL), "--out", self.config],
                             capture_output=True, text=True)
        check(out.returncode == 0, f"graft deploy haproxy wrote {self.config}: {out.stdout.strip()}")
        valid = subprocess.run([args.haproxy, "-c", "-f", self.config], capture_output=True, text=True)
        check(valid.returncode == 0, f"haproxy -c accepts it ({(valid.stdout + valid.stderr).strip().splitlines()[-1]})")
        self.log = open(os.path.join(home, "haproxy.log"), "w")
        self.proc = subprocess.Popen([args.haproxy, "-db", "-f", self.config], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                if all(s["status"] == "UP" for s in self.servers().values()):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("HAProxy did not see every replica up")

    def servers(self):
        rows = csv.DictReader(io.StringIO(get(self.url + "/haproxy/stats;csv")[1].lstrip("# ")))
        return {r["svname"]: r for r in rows if r["pxname"] == "replicas" and r["svname"] not in ("FRONTEND", "BACKEND")}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def loadtest(args, home, url, name, models, concurrency, seconds, max_tokens=16):
    out = os.path.join(home, "load-" + name)
    cmd = [args.graft, "loadtest", "--url", url, "--concurrency", str(concurrency), "--duration", f"{seconds}s", "--grace", "60s",
           "--max-tokens", str(max_tokens), *[x for m in models for x in ("--model", m)], "--warmup", "0", "--name", name, "--out", out]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True), out


def failures(proxy):
    """HAProxy's log lines for answers other than 200 (what a failed check should show)."""
    lines = [l for l in open(proxy.log.name).read().splitlines() if " 200 " not in l and "/haproxy/" not in l]
    return "\n".join("    " + l for l in lines[-10:])


def level(out):
    return json.load(open(os.path.join(out, "report.json")))["reports"][0]["levels"][0]


def served_by(proxy, model):
    """The replica HAProxy sends one request for `model` to (its X-Graft-Replica header)."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}).encode()
    request = urllib.request.Request(proxy.url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        r.read()
        return r.headers["X-Graft-Replica"]


def test_affinity(args, home, replicas, proxy):
    # One request at a time, each after the last has left HAProxy (a stream still closing counts
    # as load): placement is the ring's alone, the same replica every time.
    places = {a: set() for a in ADAPTERS}
    for _ in range(4):
        for a in ADAPTERS:
            places[a].add(served_by(proxy, a))
            time.sleep(0.2)
    check(all(len(p) == 1 for p in places.values()),
          "one request at a time, each adapter goes to one replica: " + ", ".join(f"{a} → {'/'.join(sorted(p))}" for a, p in sorted(places.items())))
    before = [r.requests_by_model() for r in replicas]
    proc, out = loadtest(args, home, proxy.url, "affinity", ADAPTERS, 6, 12)
    proc.communicate()
    check(proc.returncode == 0, "the load test through HAProxy ran")
    lv = level(out)
    served = [{m: n - b.get(m, 0) for m, n in r.requests_by_model().items()} for r, b in zip(replicas, before)]
    print(f"affinity: {lv['completed']} requests at concurrency 6 over {len(ADAPTERS)} adapters, {lv['errors']} errors {lv['errorKinds']}")
    print("adapter  " + "  ".join(f"replica{i + 1:<3}" for i in range(len(replicas))) + "  on its replica")
    homes, table = {}, {}
    for a in ADAPTERS:
        table[a] = [int(s.get(a, 0)) for s in served]
        homes[a] = max(range(len(replicas)), key=lambda i: table[a][i])
        print(f"{a:<8} " + "  ".join(f"{c:<10}" for c in table[a]) + f"  {table[a][homes[a]] / max(1, sum(table[a])):.0%}")
    # Under load, bounded load (hash-balance-factor 150: at most 3 of 6 in flight on a replica)
    # moves a request on when one replica momentarily holds more; that is its job, and rare here.
    for a, counts in table.items():
        share = counts[homes[a]] / max(1, sum(counts))
        check(sum(counts) > 0 and share >= 0.9, f"{a}: {counts[homes[a]]} of {sum(counts)} requests ({share:.0%}) on replica{homes[a] + 1}, "
                                                 f"{sum(counts) - counts[homes[a]]} moved on by bounded load")
    per_replica = [sum(int(s.get(a, 0)) for a in ADAPTERS) for s in served]
    check(lv["errors"] == 0 and min(per_replica) > 0.5 * max(per_replica), f"load is even: requests per replica {per_replica}, no errors")
    return homes


def test_rollout(args, home, replicas, proxy, env):
    urls = ",".join(r.url for r in replicas)
    pin = subprocess.run([args.graft, "rollout", "sql@1", "--replicas", urls], capture_output=True, text=True)
    check(pin.returncode == 0, "graft rollout sql@1 pins the version served now on every replica")
    pin = subprocess.run([args.graft, "rollout", "a0@1", "--replicas", urls], capture_output=True, text=True)
    check(pin.returncode == 0, "graft rollout a0@1 pins a0 too")
    proc, out = loadtest(args, home, proxy.url, "rollout", ["sql", "a0", "a1"], 4, 50)
    time.sleep(4)
    variant(FIXTURE, os.path.join(home, "src", "sql2"), 1)
    subprocess.run([args.graft, "import", "--format", "peft", os.path.join(home, "src", "sql2"), "sql", "--model", args.model], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    print("published sql@2 while the load runs")
    began = time.time()
    roll = subprocess.run([args.graft, "rollout", "sql@2", "--replicas", urls, "--canary", "20", "--watch", "5s"], capture_output=True, text=True)
    print("\n".join("  " + l for l in roll.stdout.strip().splitlines()))
    check(roll.returncode == 0 and "promoted sql@2" in roll.stdout, f"graft rollout sql@2 promoted it in {time.time() - began:.1f}s")
    # A version that serves worse is rolled back on its own. a0@2 meets its prompts with a cold
    # prefix cache (a0 gets four of the twelve prompts), so its first answers come later than
    # a0@1's; judged on its first 5 requests with no tolerance (--min-requests 5
    # --max-latency-ratio 1 --latency-slack-ms 0), the rollout must see it and undo itself.
    variant(FIXTURE, os.path.join(home, "src", "a0v2"), 9)
    subprocess.run([args.graft, "import", "--format", "peft", os.path.join(home, "src", "a0v2"), "a0", "--model", args.model], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    bad = subprocess.run([args.graft, "rollout", "a0@2", "--replicas", urls, "--canary", "50", "--watch", "20s", "--max-latency-ratio", "1",
                          "--latency-slack-ms", "0", "--min-requests", "5"], capture_output=True, text=True)
    print("\n".join("  " + l for l in bad.stdout.strip().splitlines()))
    back = [json.loads(get(r.url + "/v1/adapters/a0/rollout")[1])["versions"] for r in replicas]
    check(bad.returncode == 1 and "rolled back: a0@2" in bad.stdout and all(v.get("1") == 100 for v in back),
          f"graft rollout a0@2, judged with no latency tolerance, rolled itself back (exit {bad.returncode}; a0 rollouts now {back})")
    proc.communicate()
    lv = level(out)
    if lv["errors"] or lv["rejected429"]:
        print("HAProxy's log, answers other than 200:\n" + failures(proxy))
    check(proc.returncode == 0 and lv["errors"] == 0 and lv["rejected429"] == 0,
          f"the load test during the rollout: {lv['completed']} of {lv['sent']} requests, {lv['errors']} failed {lv['errorKinds']}, {lv['rejected429']} × 429")
    versions = {}
    for r in replicas:
        for line in get(r.url + "/metrics")[1].splitlines():
            if line.startswith("graft_requests_total{") and 'model="sql"' in line:
                v = line.split('version="')[1].split('"')[0]
                versions[v] = versions.get(v, 0) + int(float(line.rsplit(" ", 1)[1]))
        rollout = json.loads(get(r.url + "/v1/adapters/sql/rollout")[1])
        check(rollout["versions"].get("2") == 100, f"{r.url}: sql rollout settled on version 2 ({rollout['versions']})")
    check(versions.get("1", 0) > 0 and versions.get("2", 0) > 0, f"requests for sql by version across replicas: {versions}")


def test_kill(args, home, replicas, proxy, homes):
    by_replica = {}
    for a, i in homes.items():
        by_replica.setdefault(i, []).append(a)
    victim = max(by_replica, key=lambda i: len(by_replica[i]))
    name = f"replica{victim + 1}"
    proc, out = loadtest(args, home, proxy.url, "kill", ADAPTERS, 6, 16, max_tokens=48)
    time.sleep(6)
    in_flight = int(proxy.servers()[name]["scur"])
    replicas[victim].proc.send_signal(signal.SIGKILL)
    killed = time.time()
    down = None
    while time.time() - killed < 10:
        if proxy.servers()[name]["status"].startswith("DOWN"):
            down = time.time() - killed
            break
        time.sleep(0.05)
    check(down is not None and down <= 2 * CHECK_INTERVAL + 0.5,
          f"kill -9 {name} (held {', '.join(by_replica[victim])}) with {in_flight} streams on it: HAProxy marked it down after {down:.2f}s "
          f"(checks every {CHECK_INTERVAL}s, down after 2 failures)")
    proc.communicate()
    lv = level(out)
    print(f"load during the kill: {lv['sent']} requests, {lv['completed']} completed, {lv['errors']} failed ({lv['errorKinds']})")
    check(lv["errors"] <= in_flight + 1, f"only requests in flight on {name} failed: {lv['errors']} failed, {in_flight} were in flight")
    after, out2 = loadtest(args, home, proxy.url, "after-kill", ADAPTERS, 6, 8)
    after.communicate()
    lv2 = level(out2)
    check(lv2["errors"] == 0 and lv2["completed"] > 0, f"a load started after it was marked down: {lv2['completed']} requests, {lv2['errors']} failed")
    survivors = [r for r in replicas if r.index != victim]
    for a in by_replica[victim]:
        where = [r.index + 1 for r in survivors if r.requests_by_model().get(a, 0) > 0 and any(m.startswith(a + "@") for m in r.loaded())]
        check(len(where) >= 1, f"{a}, held by {name}, is now loaded and served by replica{'/'.join(map(str, where))}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--graft", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    args = p.parse_args()
    home = tempfile.mkdtemp(prefix="graft-cluster-test-")
    replicas, proxy = [], None
    try:
        env = dict(os.environ, GRAFT_HOME=home)
        os.makedirs(os.path.join(home, "src"))
        subprocess.run([args.graft, "import", "--format", "peft", FIXTURE, "sql", "--model", args.model], env=env, check=True, stdout=subprocess.DEVNULL)
        for k, a in enumerate(ADAPTERS):
            variant(FIXTURE, os.path.join(home, "src", a), k + 2)
            subprocess.run([args.graft, "import", "--format", "peft", os.path.join(home, "src", a), a, "--model", args.model], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        replicas = [Replica(args, home, i) for i in range(3)]
        for r in replicas:
            r.wait_ready()
        proxy = HAProxy(args, home, replicas)
        homes = test_affinity(args, home, replicas, proxy)
        test_rollout(args, home, replicas, proxy, env)
        test_kill(args, home, replicas, proxy, homes)
        print("all cluster checks passed")
    finally:
        if proxy:
            proxy.stop()
        for r in replicas:
            if r.proc.poll() is None:
                r.proc.terminate()
                r.proc.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
