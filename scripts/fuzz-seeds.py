#!/usr/bin/env python3
"""Writes the fuzz seed corpora (fuzz/corpus/{restore,rdb,request}) from live
servers: DUMP payloads and SAVEd RDB files of every type and encoding, from
redis-server and from Cinnabar, plus valid requests.

    scripts/fuzz-seeds.py NAME:PORT [NAME:PORT...]   e.g. redis:7777 cinnabar:7778

Each server must be scratch (the script flushes it) with `dir` writable and
`enable-protected-configs yes` not needed (the RDB is read from CONFIG GET dir).
RESTORE seeds are stored without their 8-byte checksum: the restore target
seals each input with both formats' checksums itself.
"""
import os
import socket
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")

    def __call__(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self._read()


def dataset(c):
    """One key per type and encoding, named after it."""
    c("flushall")
    c("set", "str:int", 12345)
    c("set", "str:embstr", "hello")
    c("set", "str:raw", "x" * 100)
    c("set", "str:lzf", "abcd" * 200)
    c("rpush", "list:listpack", "a", 1, "bb", -7, 300000)
    c("rpush", "list:quicklist", *[f"element-{i}" * 3 for i in range(300)])
    c("sadd", "set:intset", 1, 2, 3, -40000, 5000000000)
    c("sadd", "set:hashtable", "a", "b", "c", "long" * 20)
    c("hset", "hash:listpack", "f1", "v1", "f2", 22, "f3", "v" * 30)
    c("hset", "hash:hashtable", *sum(([f"f{i}", f"v{i}" * 5] for i in range(200)), []))
    c("zadd", "zset:listpack", 1, "a", 2.5, "b", "-inf", "c")
    c("zadd", "zset:skiplist", *sum(([i * 1.5, f"member-{i}"] for i in range(200)), []))
    c("xadd", "stream:plain", "1-1", "f", "v")
    c("xadd", "stream:plain", "1-2", "f", "v2", "g", 3)
    for i in range(3, 40):
        c("xadd", "stream:groups", f"5-{i}", "field", i, *(["extra", "x"] if i % 3 else []))
    c("xdel", "stream:groups", "5-7")
    c("xgroup", "create", "stream:groups", "g1", "0")
    c("xgroup", "create", "stream:groups", "g2", "5-20")
    c("xreadgroup", "group", "g1", "alice", "count", 4, "streams", "stream:groups", ">")
    c("xreadgroup", "group", "g1", "bob", "count", 3, "streams", "stream:groups", ">")
    c("xgroup", "createconsumer", "stream:groups", "g2", "idle")
    c("xack", "stream:groups", "g1", "5-4")
    return [k.decode() for k in c("keys", "*")]


def write(kind, name, data):
    os.makedirs(os.path.join(ROOT, kind), exist_ok=True)
    with open(os.path.join(ROOT, kind, name), "wb") as f:
        f.write(data)


def main():
    for spec in sys.argv[1:]:
        name, port = spec.split(":")
        c = Conn(int(port))
        for key in dataset(c):
            payload = c("dump", key)
            write("restore", f"{name}-{key.replace(':', '-')}", payload[:-8])
        # One small RDB per type, and the whole set.
        c("config", "set", "rdbcompression", "yes")
        c("save")
        rdb_dir = c("config", "get", "dir")[1].decode()
        rdb_file = c("config", "get", "dbfilename")[1].decode()
        with open(os.path.join(rdb_dir, rdb_file), "rb") as f:
            data = f.read()
        # Checksum zeroed (rdbchecksum no): mutated files still reach the end.
        write("rdb", f"{name}-all-types", data[:-8] + bytes(8))
        for key in dataset(c):
            if key not in ("list:quicklist", "hash:hashtable", "zset:skiplist"):
                c("del", key)
        c("save")
        with open(os.path.join(rdb_dir, rdb_file), "rb") as f:
            data = f.read()
        write("rdb", f"{name}-large-encodings", data[:-8] + bytes(8))
        c("flushall")
    requests = {
        "inline-quotes": b'SET k "a\\x41\\n b" \'it\\\'s\'\r\nGET k\n',
        "mbulk-pipeline": b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n",
        "mbulk-empty": b"*0\r\n*-1\r\n\r\n",
        "mbulk-big-arg": b"*2\r\n$4\r\nECHO\r\n$40000\r\n" + b"x" * 40000 + b"\r\n",
        "inline-blank-lines": b"\r\n\n  \r\nPING\r\n",
    }
    for name, data in requests.items():
        # First byte: read size 7 bytes, authenticated.
        write("request", name, b"\x06" + data)


if __name__ == "__main__":
    main()
