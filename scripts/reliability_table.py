#!/usr/bin/env python3
"""Writes measured figures into docs/reliability.md (scripts/reliability.sh calls it).

  reliability_table.py TABLE.md LOG...

Each `figure KEY: TEXT` line in the logs replaces the "measured" and "machine" cells of the
table row marked `<!-- KEY -->`; rows without a figure this run keep theirs. A figure with no
row is an error: a new measurement needs its row (what, bound, command) written first.
"""
import os
import platform
import re
import sys
import time

FIGURE = re.compile(r"^figure ([a-z0-9-]+): (.+)$")


def machine():
    os_name = "Linux"
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{os.cpu_count()}-core {platform.machine()}, {os_name}, {time.strftime('%Y-%m-%d')}"


def main(table, logs):
    figures = {}
    for log in logs:
        for line in open(log, errors="replace"):
            m = FIGURE.match(line.strip())
            if m:
                figures[m.group(1)] = m.group(2).replace("|", "\\|")
    rows = open(table).read().split("\n")
    used = set()
    where = machine()
    for i, row in enumerate(rows):
        m = re.search(r"<!-- ([a-z0-9-]+) -->", row)
        if not m or m.group(1) not in figures or not row.startswith("|"):
            continue
        cells = row.split(" | ")
        # | what | bound | measured | machine | reproduce |
        if len(cells) != 5:
            sys.exit(f"{table}: the row of {m.group(1)} does not have 5 cells")
        cells[2], cells[3] = figures[m.group(1)], where
        rows[i] = " | ".join(cells)
        used.add(m.group(1))
    missing = sorted(set(figures) - used)
    if missing:
        sys.exit(f"{table}: no row for the figures {missing}")
    open(table, "w").write("\n".join(rows))
    print(f"{table}: {len(used)} rows measured on {where}: {', '.join(sorted(used))}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
