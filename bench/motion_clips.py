"""Clips with known motion intervals for bench/motion.sh, composed from real moving footage:
the moving parts are consecutive frames of a source (GStreamer's test ball, or OpenCV's
sample street clip `vtest.avi`), the still parts freeze the source on its current frame, so
no cut jumps. Truth per frame: 1 where the picture moves, 0 where it does not. Every frame
gets fresh sensor-like noise (uniform +-12 levels), the same for both detectors.

usage: python motion_clips.py OUTDIR BALL.raw W H [VTEST.raw VW VH] [--only ball]
Writes OUTDIR/NAME.raw and OUTDIR/NAME.truth, and one line "NAME W H what" per clip to
OUTDIR/clips.txt.
"""
import os
import sys

import numpy as np

rng = np.random.default_rng(7)


def compose(src, plan, contrast=1.0, ramp=0.0):
    """Renders `plan`: ("still", n) holds the current frame, ("move", n) plays n more source
    frames, ("light", level) switches the brightness offset at once (lights, IR)."""
    pos, offset, picks, truth = 0, 0.0, [], []
    for kind, arg in plan:
        if kind == "still":
            picks += [(pos, offset)] * arg
            truth += [0] * arg
        elif kind == "move":
            for _ in range(arg):
                pos += 1
                picks.append((pos, offset))
                truth.append(1)
        elif kind == "light":
            offset = float(arg)
    n = len(picks)
    out = np.empty((n,) + src.shape[1:], dtype=np.uint8)
    for i, (p, off) in enumerate(picks):
        # A slow ramp (dusk, clouds): `ramp` levels over the whole clip.
        level = off + ramp * (i / n - 0.5)
        f = src[p].astype(np.float32) * contrast + 128.0 * (1.0 - contrast) + level
        f += rng.integers(-12, 13, size=f.shape)
        out[i] = np.clip(f, 0, 255).astype(np.uint8)
    return out, truth


def write(outdir, name, w, h, what, frames, truth):
    frames.tofile(os.path.join(outdir, name + ".raw"))
    with open(os.path.join(outdir, name + ".truth"), "w") as f:
        f.write(" ".join(map(str, truth)) + "\n")
    with open(os.path.join(outdir, "clips.txt"), "a") as f:
        f.write(f"{name} {w} {h} {what}\n")


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i : i + 2]
    outdir, ball_path, w, h = args[0], args[1], int(args[2]), int(args[3])
    ball = np.fromfile(ball_path, dtype=np.uint8).reshape(-1, h, w)
    three = [("still", 60), ("move", 60), ("still", 60), ("move", 60),
             ("still", 60), ("move", 60), ("still", 40)]
    lights = [("still", 50), ("light", 40), ("still", 50), ("move", 60), ("still", 50),
              ("light", 0), ("still", 50), ("move", 60), ("still", 50), ("light", -30),
              ("still", 30)]
    clips = [
        ("ball", "test ball, 3 moving intervals", ball, three, {}),
        ("faint", "test ball at 15% contrast, 3 moving intervals", ball, three, {"contrast": 0.15}),
    ]
    # Light changes need a scene with mid-tones (the ball's black background clips at 0):
    # the street scene when there is one.
    scene, where = ball, "test ball"
    if len(args) >= 7:
        vw, vh = int(args[5]), int(args[6])
        scene = np.fromfile(args[4], dtype=np.uint8).reshape(-1, vh, vw)
        where = "street"
        clips.append(("street", "vtest.avi: people walking, 3 moving intervals", scene,
                      [("still", 50), ("move", 60), ("still", 50), ("move", 60),
                       ("still", 50), ("move", 60), ("still", 50)], {}))
    clips += [
        ("lights", f"{where}: lights on/off and an IR-like drop, 2 moving intervals", scene,
         lights, {}),
        ("ramp", f"{where}: slow light ramp of 80 levels, 3 moving intervals", scene, three,
         {"ramp": 80.0}),
    ]
    for name, what, src, plan, kw in clips:
        if only and name != only:
            continue
        frames, truth = compose(src, plan, **kw)
        fh, fw = frames.shape[1:]
        write(outdir, name, fw, fh, what, frames, truth)


main()
