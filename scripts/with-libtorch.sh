#!/usr/bin/env bash
# cargo runner: makes libtorch's shared libraries visible to `cargo run/test/nextest` binaries.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LD_LIBRARY_PATH="$root/.libtorch/torch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$@"
