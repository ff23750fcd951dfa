"""Scores a detector's per-frame verdicts against the truth, for bench/motion.sh.

Frames: precision and recall of the motion verdict per frame. Events: active frames with
at most GAP quiet frames (2 s at 5 fps) between them form one event, as an NVR would record
them; a detected event is right when it overlaps a true interval (widened by one frame: the
first frame after motion may still differ), a true interval is found when an event overlaps it.

usage: python motion_score.py TRUTH FLAGS  ->  "frame_p frame_r event_p event_r events truths"
"""
import sys

GAP = 10


def runs(flags, gap):
    out, start, last = [], None, None
    for i, f in enumerate(flags):
        if not f:
            continue
        if start is not None and i - last - 1 > gap:
            out.append((start, last))
            start = None
        if start is None:
            start = i
        last = i
    if start is not None:
        out.append((start, last))
    return out


def overlaps(a, b, pad=1):
    return a[0] <= b[1] + pad and b[0] <= a[1] + pad


truth = [t == "1" for t in open(sys.argv[1]).read().split()]
got = [t == "1" for t in open(sys.argv[2]).read().split()]
tp = sum(g and t for g, t in zip(got, truth))
fp = sum(g and not t for g, t in zip(got, truth))
fn = sum(t and not g for g, t in zip(got, truth))
true_events = runs(truth, 0)
events = runs(got, GAP)
right = sum(any(overlaps(e, t) for t in true_events) for e in events)
found = sum(any(overlaps(e, t) for e in events) for t in true_events)
print(f"{tp / max(tp + fp, 1):.3f} {tp / max(tp + fn, 1):.3f} "
      f"{right / max(len(events), 1):.3f} {found / max(len(true_events), 1):.3f} "
      f"{len(events)} {len(true_events)}")
