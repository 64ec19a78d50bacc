#!/usr/bin/env python3
"""Lists functions in the given C files whose body is over 80 lines and that
have no reason written above them (a comment with "Over 80 lines").

clang-format puts a function's braces in column 0, so a body runs from a
line "{" to the next line "}". Prints one line per finding and a count."""
import sys

LIMIT = 80


def findings(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0 and lines[i - 1].strip() and not lines[i - 1].startswith((" ", "\t", "}")):
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            body = end - i + 1
            # The signature may wrap; the comment stands just above its first line.
            sig = i - 1
            while sig > 0 and lines[sig - 1].startswith((" ", "\t")) and not lines[sig - 1].strip().startswith(("/*", "*")):
                sig -= 1
            above = "\n".join(lines[max(0, sig - 4):sig])
            if body > LIMIT and "Over 80 lines" not in above:
                yield "%s:%d: %s: %d lines, no reason written above it" % (path, i + 1, lines[sig].strip(), body)
            i = end
        i += 1


n = 0
for p in sys.argv[1:]:
    for f in findings(p):
        print(f)
        n += 1
print("long functions: %d finding(s)" % n)
sys.exit(1 if n else 0)
