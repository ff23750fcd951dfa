# Shared by the benchmarks (sourced from the repository's root): the test clip and the camera
# that serves it.
#
# The clip: 10 s of 1080p25 H.264 at ~4 Mbit/s, encoded once and cached. Serving it costs the
# camera no encoding, so the same process can feed nvr and its reference alike.
CLIP=bench/.cache/clip-1080p-4M.h264

bench_clip() {
  [ -s "$CLIP" ] && return
  mkdir -p bench/.cache
  echo "bench: encoding a 10 s 1080p H.264 clip at ~4 Mbit/s (once; cached in $CLIP)"
  gst-launch-1.0 -q videotestsrc num-buffers=250 pattern=snow \
    ! video/x-raw,width=1920,height=1080,framerate=25/1 \
    ! x264enc bitrate=4000 key-int-max=25 speed-preset=ultrafast \
    ! video/x-h264,stream-format=byte-stream ! filesink location="$CLIP"
}

# Starts `nvr testcam` looping the clip at 25 fps, its output in $WORK/cam.out, and sets URL
# (exits when it does not answer). Needs NVR and WORK.
bench_camera() {
  bench_clip
  "$NVR" testcam --file "$CLIP" --fps 25 "$@" > "$WORK/cam.out" 2>&1 &
  for _ in $(seq 50); do grep -q '^url ' "$WORK/cam.out" && break; sleep 0.1; done
  URL=$(sed -n 's/^url //p' "$WORK/cam.out")
  [ -n "$URL" ] || { cat "$WORK/cam.out"; exit 1; }
}
