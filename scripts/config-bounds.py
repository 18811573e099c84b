#!/usr/bin/env python3
"""Regenerates src/config/redis7-bounds.tsv from Redis's config table.

    apt-get source redis   # Redis 7.0.15
    scripts/config-bounds.py redis-7.0.15/src/config.c > src/config/redis7-bounds.tsv

One line per numeric parameter: name, how Redis checks the range (signed or
unsigned: the message prints the bounds as %lld or %llu), lower, upper, and
how the value is parsed (integer, memory, memory+percent, octal).
"""
import re
import sys

LIMITS = {
    "INT_MAX": 2**31 - 1, "INT_MIN": -(2**31), "UINT_MAX": 2**32 - 1,
    "LONG_MAX": 2**63 - 1, "LLONG_MAX": 2**63 - 1, "SSIZE_MAX": 2**63 - 1,
    "ULLONG_MAX": 2**64 - 1,
}
# numericBoundaryCheck's unsigned branch: ULONG_LONG, UINT and SIZE_T.
UNSIGNED = {"UInt", "ULongLong", "SizeT"}
PARSE = {"INTEGER_CONFIG": "integer", "MEMORY_CONFIG": "memory",
         "MEMORY_CONFIG | PERCENT_CONFIG": "memory+percent", "OCTAL_CONFIG": "octal"}


def value(expr):
    expr = expr.strip()
    for k, v in LIMITS.items():
        expr = re.sub(r"\b%s\b" % k, str(v), expr)
    expr = re.sub(r"\b0([0-7]+)\b", r"0o\1", expr)  # C octal literals
    return int(eval(expr.replace("ll", "").replace("L", ""), {}))


def main():
    src = open(sys.argv[1]).read()
    print("# name\tcheck\tlower\tupper\tparse (from Redis 7.0.15 config.c; scripts/config-bounds.py)")
    pat = re.compile(r'create(Int|UInt|ULong|LongLong|ULongLong|SizeT|SSizeT|TimeT|OffT)Config\('
                     r'"([^"]+)",\s*[^,]+,\s*([^,]+),\s*([^,]+),\s*([^,]+),\s*[^,]+,\s*[^,]+,\s*([A-Z_ |]+),')
    for m in pat.finditer(src):
        kind, name, _flags, lower, upper, parse = m.groups()
        check = "unsigned" if kind in UNSIGNED else "signed"
        lo, hi = value(lower), value(upper)
        if check == "signed" and hi > 2**63 - 1:
            hi -= 2**64
        print(f"{name}\t{check}\t{lo}\t{hi}\t{PARSE[parse.strip()]}")


if __name__ == "__main__":
    main()
