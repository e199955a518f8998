#!/usr/bin/env bash
# The render stage on a borrowed CUDA machine, next to its CPU, in one run.
#
#   scripts/gpu-check.sh prepare   here (cargo, ffmpeg, espeak-ng, the assets): builds the
#       release binary and writes gpu-check/ with everything the other machine needs:
#       spinbot, speech.wav (about 10 s), photo.jpg and its face.json (a few MB in all,
#       well under a 64 MiB carry limit).
#   scripts/gpu-check.sh run       there (no cargo, ffmpeg, espeak-ng or internet; Python's
#       torch 2.11 provides libtorch and CUDA): prints the render-stage JSON line on CUDA and
#       on CPU, at 512 and 256.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=gpu-check

case "${1:-}" in
prepare)
  assets="${SPINBOT_ASSETS:-$HOME/.cache/spinbot}"
  cargo build --release --quiet
  rm -rf "$out" && mkdir -p "$out"
  text="Happy birthday, Anna! I hope your day is full of sunshine, good friends and far too much cake. We should meet up soon: how about next Friday? Call me when you get this message."
  cargo run --release --quiet -- render --photo "$assets/photos/t1.jpg" --say "$text" \
    --work-dir "$out/job" -o "$out/sample.mp4" >/dev/null
  cp "$out/job/speech.wav" "$out/job/face.json" "$out/"
  cp "$assets/photos/t1.jpg" "$out/photo.jpg"
  cp "${CARGO_TARGET_DIR:-target}/release/spinbot" "$out/spinbot"
  rm -rf "$out/job" "$out/sample.mp4"
  du -sh "$out"
  ;;
run)
  torch_lib="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
  for size in 512 256; do
    for device in cuda cpu; do
      RUST_LOG=info "$out/spinbot" bench render --stage render --audio "$out/speech.wav" \
        --photo "$out/photo.jpg" --face "$out/face.json" --size "$size" --device "$device"
    done
  done
  ;;
*)
  echo "usage: scripts/gpu-check.sh prepare|run" >&2
  exit 2
  ;;
esac
