#!/usr/bin/env python3
"""Differential check of the set commands: the same random command stream goes
to real redis-server and to Cinnabar, and the replies must agree. Stops at the
first difference and prints the commands that led to it.

    redis-server --port 7391 --save '' &
    target/release/cinnabar --port 7393 --save '' &
    scripts/set-differential.py SEED COUNT 7391 7393 INTSET_ENTRIES [RESP]

INTSET_ENTRIES is set-max-intset-entries for both servers (512 keeps integer
sets as intsets, 4 converts them early). Both servers are FLUSHALLed.

What "agree" means, command by command:
- byte-identical replies, except where Redis's own order is its hash table's:
  member lists are compared in order when the set they come from is an intset
  (SMEMBERS, SSCAN of an intset; SUNION/SDIFF whose result is all integers and
  fits an intset), sorted otherwise (SINTER iterates its smallest input);
- random commands (SRANDMEMBER, SPOP) compare the reply's type and length,
  that members are distinct where Redis promises it and belong to the set;
  after an SPOP the key is rewritten on both from Redis's SMEMBERS so the
  datasets stay equal;
- after every command OBJECT ENCODING of every set key must match.
"""
import socket, random, sys

def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    return s, s.makefile('rb')

def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def read(f):
    """One reply as (type byte, value): bytes for scalars, a list for aggregates."""
    line = f.readline()
    t = line[:1]
    if t in b"+-:,#_(":
        return (t, line[1:-2])
    if t in b"$=":
        n = int(line[1:-2])
        if n < 0:
            return (t, None)
        return (t, f.read(n + 2)[:-2])
    if t in b"*~>%":
        n = int(line[1:-2])
        if n < 0:
            return (t, None)
        m = 2 if t == b"%" else 1
        return (t, [read(f) for _ in range(n * m)])
    raise Exception("bad %r" % line)

seed = int(sys.argv[1]); n = int(sys.argv[2])
rnd = random.Random(seed)
A = conn(int(sys.argv[3])); B = conn(int(sys.argv[4]))
LIMIT = int(sys.argv[5])
RESP = int(sys.argv[6]) if len(sys.argv) > 6 else 2

def both(args):
    res = []
    for s, f in (A, B):
        s.sendall(enc(args)); res.append(read(f))
    return res

def one(which, args):
    s, f = which
    s.sendall(enc(args)); return read(f)

for (s, f) in (A, B):
    if RESP == 3:
        s.sendall(enc(["HELLO", "3"])); read(f)
    s.sendall(enc(["CONFIG", "SET", "set-max-intset-entries", str(LIMIT)])); read(f)
    s.sendall(enc(["FLUSHALL"])); read(f)

SETS = ["s1", "s2", "s3", "s4", "dst"]
keys = SETS + ["str", "nokey"]
ints = ["0", "1", "2", "3", "7", "-1", "-7", "100", "32767", "32768", "-32769",
        "2147483648", "9223372036854775807", "-9223372036854775808"]
odd = ["01", "-0", "+1", " 1", "1.0", "9223372036854775808", "a", "b", "c", "", "x\x00y", "abc"]
both(["SET", "str", "v"])

def member():
    return rnd.choice(ints) if rnd.random() < 0.8 else rnd.choice(odd)

def all_int(items):
    for _, v in items:
        try:
            x = int(v)
        except ValueError:
            return False
        if str(x).encode() != v or not (-2**63 <= x < 2**63):
            return False
    return True

def members_sorted(r):
    t, v = r
    if not isinstance(v, list):
        return r
    return (t, sorted(x[1] for x in v))

hist = []
mism = 0
for i in range(n):
    k = rnd.choice(SETS[:4] * 3 + keys)
    c = rnd.randrange(40)
    mode = "exact"
    if c < 10:
        args = ["SADD", k] + [member() for _ in range(rnd.choice([1, 1, 2, 3, 6]))]
    elif c < 14:
        args = ["SREM", k] + [member() for _ in range(rnd.choice([1, 2, 3]))]
    elif c < 15:
        args = ["SCARD", k]
    elif c < 17:
        args = ["SISMEMBER", k, member()]
    elif c < 18:
        args = ["SMISMEMBER", k] + [member() for _ in range(3)]
    elif c < 20:
        args = ["SMEMBERS", k]
        mode = "intset-order" if both(["OBJECT", "ENCODING", k])[0] == (b"$", b"intset") else "sorted"
    elif c < 22:
        args = ["SMOVE", k, rnd.choice(keys), member()]
    elif c < 30:
        op = rnd.choice(["SINTER", "SUNION", "SDIFF", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "SINTERCARD"])
        ks = [rnd.choice(SETS[:4] * 4 + keys) for _ in range(rnd.randint(1, 3))]
        if op == "SINTERCARD":
            args = [op, rnd.choice([str(len(ks))] * 8 + ["0", "x", "9"])] + ks
            if rnd.random() < 0.4:
                args += ["LIMIT", rnd.choice(["0", "1", "2", "-1", "x"])]
        elif op.endswith("STORE"):
            args = [op, rnd.choice(["dst", "s1", "str"])] + ks
        else:
            args = [op] + ks
            mode = "sorted" if op == "SINTER" else "union-order"
    elif c < 33:
        args = ["SRANDMEMBER", k] + ([rnd.choice(["0", "1", "2", "5", "100", "-1", "-5", "x"])] if rnd.random() < 0.7 else [])
        mode = "random"
    elif c < 35:
        args = ["SPOP", k] + ([rnd.choice(["0", "1", "2", "5", "100", "-1", "x"])] if rnd.random() < 0.6 else [])
        mode = "spop"
    elif c < 37:
        args = ["SSCAN", k, "0", "COUNT", "1000"] + (["MATCH", rnd.choice(["1*", "*7", "?", "a*"])] if rnd.random() < 0.5 else [])
        mode = "scan"
    elif c < 38:
        args = [rnd.choice(["COPY", "RENAME"]), k, rnd.choice(["dst", "s4"])]
    else:
        args = ["OBJECT", "ENCODING", k]
    hist.append(args)
    ra, rb = both(args)
    ok = True
    if mode == "exact" or ra[0] == b"-" or rb[0] == b"-":
        ok = ra == rb
    elif mode == "intset-order":
        ok = ra == rb
    elif mode == "sorted":
        ok = members_sorted(ra) == members_sorted(rb)
    elif mode == "union-order":
        ordered = isinstance(ra[1], list) and all_int(ra[1]) and len(ra[1]) <= LIMIT
        ok = ra == rb if ordered else members_sorted(ra) == members_sorted(rb)
    elif mode == "scan":
        ok = ra[0] == rb[0] and ra[1][0] == rb[1][0] == (b"$", b"0") and \
            members_sorted(ra[1][1]) == members_sorted(rb[1][1])
    elif mode in ("random", "spop"):
        ta, va = ra; tb, vb = rb
        ok = ta == tb and (va is None) == (vb is None)
        if ok and isinstance(va, list):
            ok = len(va) == len(vb)
            count = int(args[2]) if len(args) > 2 else None
            if ok and (mode == "spop" or (count is not None and count >= 0)):
                ok = len(set(x[1] for x in vb)) == len(vb)
        if ok and mode == "spop":
            # Resynchronise the key from Redis's state.
            mem = one(A, ["SMEMBERS", k])
            if mem[0] != b"-":
                both(["DEL", k])
                if mem[1]:
                    both(["SADD", k] + [x[1] for x in mem[1]])
    if ok:
        for kk in SETS:
            ea, eb = both(["OBJECT", "ENCODING", kk])
            if ea != eb:
                ok = False
                ra, rb = ea, eb
                args = args + ["=> OBJECT ENCODING " + kk]
                break
    if not ok:
        mism += 1
        for h in hist[-15:]:
            print("   ", h)
        print("MISMATCH", args, "\n  redis:", str(ra)[:400], "\n  cinna:", str(rb)[:400])
        break
# Finally the whole dataset: every set, sorted.
if not mism:
    for kk in SETS:
        ma, mb = both(["SMEMBERS", kk])
        if members_sorted(ma) != members_sorted(mb):
            mism += 1
            print("FINAL MISMATCH", kk, ma, mb)
print("done", n, "mismatches", mism)
