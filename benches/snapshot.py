#!/usr/bin/env python3
"""Snapshot stalls, side by side with redis-server.

Loads a dataset into Cinnabar and into redis-server, then runs, one at a time,
BGSAVE, BGREWRITEAOF and a replica's full sync (a fresh replica of the same
kind), while a separate process sends PING round trips on its own connection
and records each one's latency. Prints the worst and the p99 PING latency
during each operation and checks that DEBUG DIGEST is identical after
DEBUG RELOAD. Everything talks to 127.0.0.1 and stops by itself.

    cargo build --release && python3 benches/snapshot.py [--dataset hash|keys]

Datasets: `hash` is 5 hashes of 200,000 fields (1M fields, the issue's case);
`keys` is 1,000,000 string keys (the per-key cost of taking a snapshot).
"""
import argparse
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "target", "release", "cinnabar")


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A minimal RESP2 client: enough for PING, INFO and pipelined loads."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.sock.sendall(encode(*args))
        return self.reply()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(commands))
        for _ in commands:
            self.reply()

    def info(self, section):
        text = self.call("INFO", section).decode()
        return dict(
            line.split(":", 1) for line in text.splitlines() if ":" in line
        )


def wait_ready(port, proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server on port {port} exited")
        try:
            Conn(port).call("PING")
            return
        except (OSError, RuntimeError):
            time.sleep(0.05)
    sys.exit(f"server on port {port} did not start")


def start(kind, port, workdir, extra=()):
    os.makedirs(workdir, exist_ok=True)
    common = ["--port", str(port), "--dir", workdir, "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
    if kind == "cinnabar":
        argv = [CINNABAR, *common]
    else:
        argv = ["redis-server", *common]
    argv += list(extra)
    log = open(os.path.join(workdir, "server.log"), "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    wait_ready(port, proc)
    return proc


def load(port, dataset):
    c = Conn(port)
    c.call("FLUSHALL")
    batch = []
    if dataset == "hash":
        for h in range(5):
            for start in range(0, 200_000, 1000):
                args = ["HSET", f"hash:{h}"]
                for i in range(start, start + 1000):
                    args += [f"field:{i}", f"value:{i}"]
                batch.append(encode(*args))
                if len(batch) == 20:
                    c.pipeline(batch)
                    batch = []
    else:
        for i in range(1_000_000):
            batch.append(encode("SET", f"key:{i}", f"value:{i}"))
            if len(batch) == 1000:
                c.pipeline(batch)
                batch = []
    if batch:
        c.pipeline(batch)


def prober(port, command, stop, results):
    """Round trips of `command` until `stop` is set: latencies in microseconds.
    `write` sets a random key of the dataset (HSET for the hash dataset)."""
    import random

    c = Conn(port)
    rng = random.Random(1)
    lat = []
    while not stop.is_set():
        if command == "PING":
            args = ("PING",)
        elif command == "HSET":
            args = ("HSET", f"hash:{rng.randrange(5)}", f"field:{rng.randrange(200_000)}", "x")
        else:
            args = ("SET", f"key:{rng.randrange(1_000_000)}", "x")
        t = time.perf_counter()
        c.call(*args)
        lat.append((time.perf_counter() - t) * 1e6)
    results.put((command, lat))


def during(port, operation, write_command=None):
    """Runs `operation()` (which returns when the server reports it done)
    while two prober processes send PINGs and writes to `port`; returns
    {command: (max, p99, count)} and the operation's seconds."""
    stop, results = mp.Event(), mp.Queue()
    procs = [
        mp.Process(target=prober, args=(port, cmd, stop, results))
        for cmd in ("PING", write_command)
        if cmd
    ]
    for p in procs:
        p.start()
    time.sleep(0.2)  # the probers are connected and running (a warm-up, not a sync point)
    t = time.monotonic()
    operation()
    secs = time.monotonic() - t
    stop.set()
    out = {}
    for _ in procs:
        command, lat = results.get()
        lat.sort()
        out[command] = (lat[-1], lat[int(len(lat) * 0.99)], len(lat))
    for p in procs:
        p.join()
    return out, secs


def wait_info(c, section, done, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(c.info(section)):
            return
        time.sleep(0.01)
    sys.exit(f"timed out waiting on INFO {section}")


def bgsave(port):
    c = Conn(port)
    c.call("BGSAVE")
    wait_info(c, "persistence", lambda i: i.get("rdb_bgsave_in_progress") == "0")


def bgrewriteaof(port):
    c = Conn(port)
    c.call("BGREWRITEAOF")
    wait_info(
        c,
        "persistence",
        lambda i: i.get("aof_rewrite_in_progress") == "0"
        and i.get("aof_rewrite_scheduled") == "0",
    )


def full_sync(kind, port, replica_port, workdir):
    def op():
        rp = start(kind, replica_port, workdir)
        try:
            r = Conn(replica_port)
            r.call("REPLICAOF", "127.0.0.1", port)
            wait_info(
                r,
                "replication",
                lambda i: i.get("master_link_status") == "up"
                and i.get("master_sync_in_progress") == "0",
            )
        finally:
            rp.terminate()
            rp.wait()

    return op


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["hash", "keys"], default="hash")
    ap.add_argument("--port", type=int, default=7401)
    ap.add_argument(
        "--no-writes", action="store_true", help="PINGs only: no writes during the snapshots"
    )
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="cinnabar-snapshot-")
    rows = []
    try:
        for n, kind in enumerate(["cinnabar", "redis"]):
            port = args.port + 2 * n
            proc = start(kind, port, os.path.join(base, kind))
            try:
                t = time.monotonic()
                load(port, args.dataset)
                load_secs = time.monotonic() - t
                c = Conn(port)
                mem = int(c.info("memory")["used_memory"])
                for name, op in [
                    ("BGSAVE", lambda: bgsave(port)),
                    ("BGREWRITEAOF", lambda: bgrewriteaof(port)),
                    (
                        "full sync",
                        full_sync(kind, port, port + 1, os.path.join(base, kind + "-replica")),
                    ),
                ]:
                    write = "HSET" if args.dataset == "hash" else "SET"
                    probes, secs = during(port, op, None if args.no_writes else write)
                    rows.append((kind, name, probes["PING"], probes.get(write), secs))
                digest = c.call("DEBUG", "DIGEST")  # after the probers' writes
                c.call("DEBUG", "RELOAD")
                same = c.call("DEBUG", "DIGEST") == digest
                rows.append((kind, "DEBUG RELOAD digest", "same" if same else "DIFFERENT", None, None))
                print(
                    f"# {kind}: loaded in {load_secs:.1f} s, used_memory {mem / 2**20:.1f} MiB",
                    file=sys.stderr,
                )
            finally:
                proc.terminate()
                proc.wait()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    write = "HSET" if args.dataset == "hash" else "SET"
    print(f"dataset: {args.dataset}; latencies in ms, measured by the client")
    print(f"| server | operation | worst PING | p99 PING | worst {write} | p99 {write} | round trips | op seconds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, name, ping, wr, secs in rows:
        if isinstance(ping, str):
            print(f"| {kind} | {name} | {ping} | | | | | |")
        else:
            wr = wr or (float("nan"), float("nan"), 0)
            print(
                f"| {kind} | {name} | {ping[0] / 1000:.2f} | {ping[1] / 1000:.2f} | "
                f"{wr[0] / 1000:.2f} | {wr[1] / 1000:.2f} | {ping[2] + wr[2]:,} | {secs:.2f} |"
            )


if __name__ == "__main__":
    main()
