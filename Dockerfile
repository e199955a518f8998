# The spinbot image: one binary for every role (`spinbot worker`, `spinbot bot telegram`,
# `spinbot bot discord`, `spinbot up`, ...), with its assets, ffmpeg and espeak-ng.
#
#   docker build -t spinbot:local .                      # with the CUDA libraries (several GB)
#   docker build --build-arg CUDA=0 -t spinbot:local .   # CPU only (about 1 GB)
#
# The build stage runs the same set-up script as `make setup` (scripts/setup.sh), so the
# image has the same pinned libtorch, ONNX Runtime and models as a developer's machine. The
# runtime stage keeps only the binary, the assets the binary loads, and the Debian packages
# it runs (ffmpeg, espeak-ng).
#
# This file has never been built here: the machine spinbot is developed on has no container
# engine. docker-compose.yml, which builds it, is checked with `docker-compose config`.

ARG DEBIAN_IMAGE=debian:12.13

# --- build -------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
# Rust: rig-core 0.44 (in Cargo.lock) needs 1.95.
ARG RUST_VERSION=1.95.0
# 1: the runtime gets libtorch's CUDA libraries and the NVIDIA wheels they load (a GPU
# worker needs them); 0: the CPU-only libtorch of `make setup`.
ARG CUDA=1
ENV DEBIAN_FRONTEND=noninteractive \
    RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SPINBOT_ASSETS=/opt/spinbot/assets

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
      | sh -s -- -y --no-modify-path --profile minimal --default-toolchain "${RUST_VERSION}" \
 && rustc --version

WORKDIR /src
# The set-up script alone first, so its layer (packages, libtorch, models) is reused until
# a script changes.
COPY scripts/ scripts/
RUN bash scripts/setup.sh

COPY . .
# setup.sh links ./.libtorch to the assets; .cargo/config.toml builds against it.
RUN ln -sfn "$SPINBOT_ASSETS/libtorch" .libtorch \
 && cargo build --release --locked --bin spinbot

# Each voice's pitch and brightness, measured once (as `make up` does), then everything
# the runtime needs gathered in /opt/spinbot/dist.
RUN set -eux; \
    LD_LIBRARY_PATH="$SPINBOT_ASSETS/libtorch/torch/lib" target/release/spinbot voices --measure >/dev/null; \
    dist=/opt/spinbot/dist; \
    mkdir -p "$dist/assets/libtorch/torch"; \
    cp target/release/spinbot "$dist/spinbot"; \
    cp -a "$SPINBOT_ASSETS/onnxruntime" "$SPINBOT_ASSETS/voices" "$SPINBOT_ASSETS/kokoro" \
      "$SPINBOT_ASSETS/face" "$SPINBOT_ASSETS/voice-figures.json" "$dist/assets/"; \
    if [ "$CUDA" = 1 ]; then \
      "$SPINBOT_ASSETS/venv/bin/python" -m pip install -q --disable-pip-version-check \
        --target /tmp/torch-cuda torch==2.11.0; \
      cp -a /tmp/torch-cuda/torch/lib "$dist/assets/libtorch/torch/lib"; \
      cp -a /tmp/torch-cuda/nvidia "$dist/assets/libtorch/nvidia"; \
      rm -rf /tmp/torch-cuda; \
    else \
      cp -a "$SPINBOT_ASSETS/libtorch/torch/lib" "$dist/assets/libtorch/torch/lib"; \
      cp -a "$SPINBOT_ASSETS/libtorch/nvidia" "$dist/assets/libtorch/nvidia"; \
    fi

# --- runtime -----------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# curl is for the health checks (GET /metrics).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl espeak-ng ffmpeg \
      libpocketsphinx3=0.8+5prealpha+1-15 pocketsphinx-en-us=0.8+5prealpha+1-15 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/spinbot \
      --shell /usr/sbin/nologin spinbot

COPY --from=build /opt/spinbot/dist/assets /opt/spinbot/assets
COPY --from=build /opt/spinbot/dist/spinbot /usr/local/bin/spinbot
# The texts the agent uses are built into the binary; this copy is a starting point for
# SPINBOT_PROMPTS (mount an edited copy and point the variable at it).
COPY prompts/ /opt/spinbot/prompts/

# The binary finds ONNX Runtime and the models in SPINBOT_ASSETS by itself; libtorch comes
# through the loader path (libtorch_cuda.so, when present, finds the NVIDIA libraries
# through its own RPATH, ../../nvidia/*/lib).
ENV SPINBOT_ASSETS=/opt/spinbot/assets \
    LD_LIBRARY_PATH=/opt/spinbot/assets/libtorch/torch/lib

USER spinbot
# No .env here: the binary reads ./.env, and every setting comes from the environment.
WORKDIR /var/lib/spinbot
EXPOSE 9464
ENTRYPOINT ["spinbot"]
CMD ["up"]
