#!/usr/bin/env python3
"""Memory per idle connection, Cinnabar next to redis-server, one run.

    benches/idle_conns.py [N] [CINNABAR_BIN] [REDIS_BIN]

Starts each server on a loopback port with `maxclients` above N, opens N
connections that each send one PING (so the server has set each one up),
waits 3 s (both servers free an idle client's read buffer after 2 s),
then reads the server's resident memory (VmRSS) and reports
(RSS with N clients - RSS before) / N. The servers are stopped by pid.
"""
import os
import resource
import socket
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
CINNABAR = sys.argv[2] if len(sys.argv) > 2 else "target/release/cinnabar"
REDIS = sys.argv[3] if len(sys.argv) > 3 else "redis-server"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_ready(port):
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def measure(name, argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        time.sleep(1)
        before = rss_kb(proc.pid)
        socks = []
        for _ in range(N):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"PING\r\n")
            socks.append(s)
        for s in socks:
            assert s.recv(16).startswith(b"+PONG")
        time.sleep(3)
        after = rss_kb(proc.pid)
        per = (after - before) * 1024 / N
        print(f"{name:10} {N} idle clients: RSS {before} KB -> {after} KB, {per / 1024:.2f} KB per connection")
        for s in socks:
            s.close()
        return per
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 1024), hard))
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--maxclients", str(N + 100)]
    p1, p2 = free_port(), free_port()
    ours = measure("cinnabar", [CINNABAR, "--port", str(p1)] + common, p1)
    redis = measure("redis", [REDIS, "--port", str(p2)] + common, p2)
    print(f"ratio cinnabar/redis: {ours / redis:.2f}")


if __name__ == "__main__":
    main()
