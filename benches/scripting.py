#!/usr/bin/env python3
"""Scripting side by side with redis-server: EVALSHA throughput and server
CPU per call, and jobs per second through a real BullMQ queue and worker.

Usage: benches/scripting.py [--requests N] [--clients C] [--pipeline P]
                            [--jobs J] [--no-bullmq]

For each server (target/release/cinnabar at its defaults, then
/usr/bin/redis-server), on a free loopback port, in a fresh directory:
  - evalsha_incr: EVALSHA of `return redis.call('incr', KEYS[1])`;
  - evalsha_jobmove: EVALSHA of a BullMQ-like job move (several declared
    keys, one undeclared job hash, cjson): push a job, move it from wait to
    active, store its data as JSON, complete it;
  run with redis-benchmark (-c clients, -P pipeline), reporting requests/s
  and the server's CPU per call (utime+stime from /proc around the run).
  - bullmq: J jobs added to a BullMQ queue, processed by one Worker
    (concurrency 8) in the same process, jobs/s from first add to last
    completion (clients/node's pinned bullmq; `npm ci` there first).
Prints one table; every run talks to 127.0.0.1 only and stops by itself.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "target", "release", "cinnabar")
REDIS = "/usr/bin/redis-server"

INCR = "return redis.call('incr', KEYS[1])"
# A job move as BullMQ's moveToActive / moveToFinished do it, shrunk: the
# job hash is reached by a name built inside the script (undeclared).
JOBMOVE = """
local id = redis.call('incr', KEYS[4])
redis.call('lpush', KEYS[1], id)
local moved = redis.call('rpoplpush', KEYS[1], KEYS[2])
local job = 'bench:job:' .. moved
redis.call('hset', job, 'data', cjson.encode({id = moved, name = ARGV[1], attempts = 0}),
  'processedOn', ARGV[2])
local data = cjson.decode(redis.call('hget', job, 'data'))
redis.call('lrem', KEYS[2], 1, moved)
redis.call('zadd', KEYS[3], ARGV[2], moved)
redis.call('del', job)
redis.call('zremrangebyrank', KEYS[3], 0, -1001)
return data.id
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def cli(port, *args):
    out = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30
    )
    return out.stdout.strip()


def start(kind, port, workdir):
    binary = CINNABAR if kind == "cinnabar" else REDIS
    log = open(os.path.join(workdir, f"{kind}.log"), "w")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=log, stderr=subprocess.STDOUT,
    )
    for _ in range(200):
        if cli(port, "PING") == "PONG":
            return proc
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"{kind} did not start")


def benchmark(port, pid, sha, keys, args, opts):
    cmd = ["redis-benchmark", "-p", str(port), "-n", str(opts.requests), "-c", str(opts.clients),
           "-P", str(opts.pipeline), "--csv", "EVALSHA", sha, str(len(keys)), *keys, *args]
    before = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    spent = cpu_seconds(pid) - before
    rps = None
    for line in out.stdout.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) > 1 and re.match(r"^[0-9.]+$", cells[1]):
            rps = float(cells[1])
    if rps is None:
        sys.exit(f"redis-benchmark gave no result: {out.stdout} {out.stderr}")
    return rps, spent / opts.requests * 1e6


BULLMQ = r"""
const { Queue, Worker, QueueEvents } = require('bullmq');
const port = Number(process.env.PORT), jobs = Number(process.env.JOBS);
const connection = { host: '127.0.0.1', port };
(async () => {
  const name = 'bench' + Date.now();
  const queue = new Queue(name, { connection });
  let done = 0, resolve;
  const finished = new Promise(r => (resolve = r));
  const worker = new Worker(name, async job => job.data.n * 2,
    { connection, concurrency: 8, autorun: false });
  worker.on('completed', () => { if (++done === jobs) resolve(); });
  const start = process.hrtime.bigint();
  const batch = [];
  for (let i = 0; i < jobs; i++) batch.push({ name: 'j', data: { n: i } });
  for (let i = 0; i < batch.length; i += 500) await queue.addBulk(batch.slice(i, i + 500));
  worker.run();
  const timeout = setTimeout(() => { console.error('timeout'); process.exit(1); }, 300000);
  await finished;
  clearTimeout(timeout);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active');
  await worker.close(); await queue.obliterate({ force: true }); await queue.close();
  if (counts.completed !== jobs || counts.failed !== 0) {
    console.error('bad counts', JSON.stringify(counts)); process.exit(1);
  }
  console.log(JSON.stringify({ jobs, secs, rate: jobs / secs }));
})().catch(e => { console.error(e); process.exit(1); });
"""


def bullmq(port, pid, jobs):
    node_modules = os.path.join(ROOT, "clients", "node", "node_modules")
    if not os.path.isdir(node_modules):
        return None
    env = dict(os.environ, PORT=str(port), JOBS=str(jobs), NODE_PATH=node_modules)
    before = cpu_seconds(pid)
    out = subprocess.run(["node", "-e", BULLMQ], capture_output=True, text=True, env=env,
                         timeout=400)
    spent = cpu_seconds(pid) - before
    if out.returncode != 0:
        sys.exit(f"bullmq run failed: {out.stderr}")
    rate = float(re.search(r'"rate":([0-9.e+]+)', out.stdout).group(1))
    return rate, spent / jobs * 1e6


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=200_000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--pipeline", type=int, default=1)
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--no-bullmq", action="store_true")
    opts = p.parse_args()
    results = {}
    for kind in ("cinnabar", "redis"):
        workdir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        port = free_port()
        proc = start(kind, port, workdir)
        try:
            rows = {}
            sha = cli(port, "SCRIPT", "LOAD", INCR)
            rows["evalsha_incr"] = benchmark(port, proc.pid, sha, ["bench:n"], [], opts)
            sha = cli(port, "SCRIPT", "LOAD", JOBMOVE)
            keys = ["bench:wait", "bench:active", "bench:completed", "bench:id"]
            rows["evalsha_jobmove"] = benchmark(port, proc.pid, sha, keys, ["job", "1700000000000"],
                                                opts)
            if not opts.no_bullmq:
                r = bullmq(port, proc.pid, opts.jobs)
                if r:
                    rows["bullmq_jobs"] = r
            results[kind] = rows
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"clients {opts.clients}, pipeline {opts.pipeline}, requests {opts.requests}, "
          f"bullmq jobs {opts.jobs}")
    print(f"{'workload':<18}{'Cinnabar/s':>12}{'Redis/s':>12}{'ratio':>8}"
          f"{'C µs CPU':>10}{'R µs CPU':>10}{'CPU ratio':>10}")
    for name in results["cinnabar"]:
        c, r = results["cinnabar"][name], results["redis"].get(name)
        if not r:
            continue
        print(f"{name:<18}{c[0]:>12.0f}{r[0]:>12.0f}{c[0] / r[0]:>8.2f}"
              f"{c[1]:>10.2f}{r[1]:>10.2f}{c[1] / r[1]:>10.2f}")


if __name__ == "__main__":
    main()
