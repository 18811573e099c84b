#!/usr/bin/env python3
"""Regenerates src/command/redis7-keyspecs.tsv from a running redis-server
7.0 (`COMMAND` over RESP3): per command and subcommand, its ACL categories
and its key specs, the data ACL key permissions and COMMAND GETKEYSANDFLAGS
read. Usage: scripts/command-metadata.py [PORT] > src/command/redis7-keyspecs.tsv

Line format (tab-separated): fullname, categories (comma-separated, no @),
key specs separated by ';', each FLAGS/BEGIN/FIND with
  FLAGS  comma-separated key-spec flags (RO, RW, OW, RM, access, update,
         insert, delete, not_key, incomplete, variable_flags)
  BEGIN  i:INDEX | k:KEYWORD:STARTFROM | u
  FIND   r:LASTKEY:STEP:LIMIT | n:KEYNUMIDX:FIRSTKEY:STEP | u
"""
import socket
import sys


def read_reply(f):
    line = f.readline()
    if not line:
        raise EOFError
    t, rest = line[:1], line[1:-2]
    if t in (b'+', b'-'):
        return rest.decode()
    if t == b':':
        return int(rest)
    if t == b'$':
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if t == b'_':
        return None
    if t in (b'*', b'~', b'>'):
        return [read_reply(f) for _ in range(int(rest))]
    if t == b'%':
        out = {}
        for _ in range(int(rest)):
            k = read_reply(f)
            out[k] = read_reply(f)
        return out
    if t == b',':
        return float(rest)
    if t == b'#':
        return rest == b't'
    raise ValueError(f"unexpected reply type {t!r}")


def command(sock, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return read_reply(f)


def spec_text(ks):
    flags = ",".join(ks.get("flags", []))
    bs = ks["begin_search"]
    if bs["type"] == "index":
        begin = f"i:{bs['spec']['index']}"
    elif bs["type"] == "keyword":
        begin = f"k:{bs['spec']['keyword']}:{bs['spec']['startfrom']}"
    else:
        begin = "u"
    fk = ks["find_keys"]
    if fk["type"] == "range":
        s = fk["spec"]
        find = f"r:{s['lastkey']}:{s['keystep']}:{s['limit']}"
    elif fk["type"] == "keynum":
        s = fk["spec"]
        find = f"n:{s['keynumidx']}:{s['firstkey']}:{s['keystep']}"
    else:
        find = "u"
    return f"{flags}/{begin}/{find}"


def rows(entry):
    name, cats, specs, subs = entry[0], entry[6], entry[8], entry[9]
    cats = ",".join(c.lstrip("@") for c in cats)
    yield f"{name}\t{cats}\t{';'.join(spec_text(ks) for ks in specs)}"
    for sub in subs or []:
        yield from rows(sub)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    sock = socket.create_connection(("127.0.0.1", port))
    f = sock.makefile("rb")
    command(sock, f, "HELLO", "3")
    lines = []
    for entry in command(sock, f, "COMMAND"):
        lines.extend(rows(entry))
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    main()
