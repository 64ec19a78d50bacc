#!/usr/bin/env python3
"""Next fire times by croniter + zoneinfo, for test_core_cron.c's cross-check.

Reads lines "expr|zone|after_ms" from the file named by argv[1] and prints one
line per case: the next fire time in Unix ms. Exits 77 when croniter is not
installed (the C test then skips the case)."""
import sys
from datetime import datetime, timezone

try:
    from croniter import croniter
    from zoneinfo import ZoneInfo
except ImportError:
    sys.exit(77)

for line in open(sys.argv[1]):
    expr, zone, after = line.rstrip("\n").split("|")
    start = datetime.fromtimestamp(int(after) / 1000, timezone.utc).astimezone(ZoneInfo(zone))
    nxt = croniter(expr, start).get_next(datetime)
    print(int(nxt.timestamp() * 1000))
