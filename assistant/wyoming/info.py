"""The `info` answer to `describe`: which programs this server offers, named after the configured models.

Home Assistant makes one entity per installed program kind (speech-to-text, text-to-speech, wake word,
conversation agent) and offers the listed languages, voices and wake words in its settings. Nothing here
loads a model: `describe` must answer within Home Assistant's one-second timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    WakeModel,
    WakeProgram,
)

from assistant.config import Settings
from assistant.offline import ModelNotAvailableError

PROJECT = Attribution(name="assistant", url="https://github.com/")  # a local project: no public home
WHISPER = Attribution(name="OpenAI", url="https://github.com/openai/whisper")
PIPER = Attribution(name="Rhasspy", url="https://github.com/rhasspy/piper")
MICRO_WAKE_WORD = Attribution(name="Kevin Ahrendt", url="https://github.com/kahrendt/microWakeWord")
ASR_PROGRAM = "assistant-asr"
TTS_PROGRAM = "assistant-tts"
WAKE_PROGRAM = "assistant-wake"
HANDLE_PROGRAM = "assistant"


@dataclass(frozen=True)
class WakeWord:
    name: str  # the model, e.g. "alexa": what `detect` names and `detection` reports
    phrase: str  # what is said, e.g. "Alexa"


def program_version() -> str:
    try:
        return version("assistant")
    except PackageNotFoundError:
        return "0"


def asr_languages(settings: Settings) -> list[str]:
    from assistant.speech.asr_models import english_only

    if english_only(settings.asr.model):
        return ["en"]
    return [settings.asr.language] if settings.asr.language else ["en"]


def voice_name(settings: Settings) -> str:
    """The one voice we offer: the Piper voice file's name (en_US-joe-medium by default), else the backend."""
    if settings.tts.backend == "piper":
        return Path(settings.tts.voice).stem if settings.tts.voice else "en_US-joe-medium"
    return settings.tts.voice or settings.tts.backend


def voice_language(name: str) -> str:
    """A Piper voice is named language_REGION-name-quality (en_US, as wyoming-piper lists it); anything
    else is taken as English."""
    head = name.split("-", 1)[0]
    return head if "_" in head and len(head) <= 6 else "en"


def wake_words(settings: Settings) -> list[WakeWord]:
    """The microWakeWord models inside pymicro-wakeword (the configured one first); none without it."""
    from assistant.speech.wake import builtin_micro_models, micro_models_dir

    try:
        names = builtin_micro_models()
    except ModelNotAvailableError:
        return []
    names.sort(key=lambda name: name != settings.wake.model)
    found = []
    for name in names:
        try:
            phrase = str(json.loads((micro_models_dir() / f"{name}.json").read_text("utf-8"))["wake_word"])
        except (OSError, ValueError, KeyError):
            phrase = name.replace("_", " ").title()
        found.append(WakeWord(name, phrase))
    return found


def build_info(settings: Settings) -> Info:
    version_ = program_version()
    voice = voice_name(settings)
    voice_lang = voice_language(voice)
    words = wake_words(settings)
    return Info(
        asr=[
            AsrProgram(
                name=ASR_PROGRAM,
                description=f"The assistant's speech recognition ({settings.asr.backend})",
                attribution=PROJECT,
                installed=True,
                version=version_,
                models=[
                    AsrModel(
                        name=settings.asr.model,
                        description=f"Whisper {settings.asr.model}",
                        attribution=WHISPER,
                        installed=True,
                        version=None,
                        languages=asr_languages(settings),
                    )
                ],
                supports_transcript_streaming=False,
            )
        ],
        tts=[
            TtsProgram(
                name=TTS_PROGRAM,
                description=f"The assistant's voice ({settings.tts.backend})",
                attribution=PROJECT,
                installed=True,
                version=version_,
                voices=[
                    TtsVoice(
                        name=voice,
                        description=voice,
                        attribution=PIPER if settings.tts.backend == "piper" else PROJECT,
                        installed=True,
                        version=None,
                        languages=[voice_lang],
                    )
                ],
                supports_synthesize_streaming=True,
            )
        ],
        wake=[
            WakeProgram(
                name=WAKE_PROGRAM,
                description="microWakeWord wake words (pymicro-wakeword)",
                attribution=MICRO_WAKE_WORD,
                installed=True,
                version=version_,
                models=[
                    WakeModel(
                        name=word.name,
                        description=word.phrase,
                        attribution=MICRO_WAKE_WORD,
                        installed=True,
                        version=None,
                        languages=["en"],
                        phrase=word.phrase,
                    )
                    for word in words
                ],
            )
        ]
        if words
        else [],
        handle=[
            HandleProgram(
                name=HANDLE_PROGRAM,
                description="The whole assistant: skills, generator and memory per conversation",
                attribution=PROJECT,
                installed=True,
                version=version_,
                models=[
                    HandleModel(
                        name=HANDLE_PROGRAM,
                        description="skills, then the dialog generator",
                        attribution=PROJECT,
                        installed=True,
                        version=None,
                        languages=["en"],  # the skills and the NLU are English
                    )
                ],
                supports_handled_streaming=False,
                supports_home_control=False,
            )
        ],
    )
