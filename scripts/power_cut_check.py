#!/usr/bin/env python3
"""After one power cut: every segment in the backing folder checked with gst-discoverer, and
the seconds lost per camera (cut time - end of the newest playable footage).

  power_cut_check.py BACKING CYCLE CUT_UNIX_S   -> one TSV line per camera
  power_cut_check.py --catalog BACKING START_UNIX_S N
                                                -> whether the catalog's N segments at a start
                                                   are the files named before that start
  power_cut_check.py --summary RESULTS.tsv CATALOG.tsv
                                                -> worst / median / p90 per camera
"""
import datetime
import os
import re
import statistics
import subprocess
import sys

NAME = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{2})-(\d{2})-(\d{2})([+-]\d{2})(\d{2})(-\d+)?\.mp4$")


def start_of(rel):
    m = NAME.search(rel)
    if not m:
        return None
    day, hh, mm, ss, oh, om = m.group(1, 2, 3, 4, 5, 6)
    sign = -1 if oh.startswith("-") else 1
    tz = datetime.timezone(sign * datetime.timedelta(hours=abs(int(oh)), minutes=int(om)))
    t = datetime.datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}").replace(tzinfo=tz)
    return t.timestamp()


def duration_of(path):
    """Seconds of playable media, or None when the file does not play."""
    r = subprocess.run(["gst-discoverer-1.0", path], capture_output=True, text=True, timeout=60)
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", r.stdout)
    if r.returncode != 0 or not m or "video" not in r.stdout:
        return None
    h, mi, s = m.groups()
    return int(h) * 3600 + int(mi) * 60 + float(s)


def segments(backing):
    """camera -> its segment files, relative to its folder."""
    out = {}
    for cam in sorted(os.listdir(backing)):
        cdir = os.path.join(backing, cam)
        if cam.startswith(".") or not os.path.isdir(cdir):
            continue
        out[cam] = sorted(
            os.path.join(day, f)
            for day in os.listdir(cdir)
            if os.path.isdir(os.path.join(cdir, day))
            for f in os.listdir(os.path.join(cdir, day))
            if f.endswith(".mp4")
        )
    return out


def catalog(backing, start, n):
    before = sum(
        1 for files in segments(backing).values() for f in files if (start_of(f) or 0) < start - 1
    )
    print(f"{n}\t{before}")


def check(backing, cycle, cut):
    for cam, files in segments(backing).items():
        cdir = os.path.join(backing, cam)
        newest, bad, empty = None, [], 0
        for rel in files:
            path = os.path.join(cdir, rel)
            d = duration_of(path)
            if d is None:
                # A file the cut caught before its first frame reached the disk holds no media
                # (nvr removes it at the next start); anything else that does not play is a bug.
                if os.path.getsize(path) < 64 * 1024:
                    empty += 1
                else:
                    bad.append(rel)
                continue
            s = start_of(rel)
            if s is not None and d > 0:
                newest = max(newest or 0, s + d)
        lost = cut - newest if newest else float("nan")
        print(f"{cycle}\t{cam}\t{lost:.2f}\t{len(files)}\t{empty}\t{len(bad)}\t{' '.join(bad)}")


def summary(results, catalogs):
    rows = [l.rstrip("\n").split("\t") for l in open(results) if l.strip()]
    print("camera  cuts  lost s: worst  median  p90   files  empty-at-cut  unplayable")
    for cam in sorted({r[1] for r in rows}):
        lost = sorted(float(r[2]) for r in rows if r[1] == cam)
        p90 = lost[min(len(lost) - 1, int(round(0.9 * (len(lost) - 1))))]
        files = max(int(r[3]) for r in rows if r[1] == cam)
        empty = sum(int(r[4]) for r in rows if r[1] == cam)
        bad = sum(int(r[5]) for r in rows if r[1] == cam)
        print(
            f"{cam:6}  {len(lost):4}  {max(lost):13.2f}  {statistics.median(lost):6.2f}  "
            f"{p90:5.2f}  {files:5}  {empty:12}  {bad:10}"
        )
    failed = False
    if any(int(r[5]) for r in rows):
        print("UNPLAYABLE FILES:", [r[6] for r in rows if int(r[5])])
        failed = True
    # nvr records again after every cut: each camera has more files at every later cut.
    for cam in sorted({r[1] for r in rows}):
        counts = [int(r[3]) for r in rows if r[1] == cam]
        if any(b <= a for a, b in zip(counts, counts[1:])):
            print(f"{cam}: no new footage after a cut: files per cut {counts}")
            failed = True
    starts = [l.split() for l in open(catalogs) if l.strip()]
    wrong = [s for s in starts if s[0] != s[1]]
    if wrong:
        print(f"catalog at start vs files before it: {wrong}")
        failed = True
    if failed:
        sys.exit(1)
    print(
        "every file plays; nvr recorded again after every cut; at each of the "
        f"{len(starts)} starts the catalog listed exactly the files that survived"
    )


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "--catalog":
        catalog(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        check(sys.argv[1], sys.argv[2], float(sys.argv[3]))
