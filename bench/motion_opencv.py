"""The seeds' motion detector in OpenCV, for bench/motion.sh: gray -> Gaussian blur ->
difference with the previous frame -> threshold -> dilate x8 / erode x4 -> contours ->
area filter. Prints ms/frame; with FLAGS.txt, writes its verdict per frame (0/1) there.

usage: python motion_opencv.py FRAMES.raw WIDTH HEIGHT [FLAGS.txt]
"""
import sys
import time

import cv2
import numpy as np

path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
frames = np.fromfile(path, dtype=np.uint8).reshape(-1, h, w)
min_area = 0.002 * w * h  # the same minimum area as nvr's default
kernel = np.ones((3, 3), np.uint8)

active = []
prev = None
start = time.perf_counter()
for gray in frames:
    blur = cv2.GaussianBlur(gray, (21, 21), 0)
    if prev is None:
        prev = blur
        active.append(False)
        continue
    delta = cv2.absdiff(prev, blur)
    prev = blur
    _, thresh = cv2.threshold(delta, 25, 255, cv2.THRESH_BINARY)
    thresh = cv2.dilate(thresh, kernel, iterations=8)
    thresh = cv2.erode(thresh, kernel, iterations=4)
    contours, _ = cv2.findContours(thresh, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    active.append(any(cv2.contourArea(c) > min_area for c in contours))
ms = (time.perf_counter() - start) * 1000 / len(frames)
print(f"{ms:.4f}")
if len(sys.argv) > 4:
    with open(sys.argv[4], "w") as f:
        f.write(" ".join("1" if a else "0" for a in active) + "\n")
