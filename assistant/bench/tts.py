"""`assistant bench tts`: time to first audio, total time and real-time factor per synthesis backend.

Time to first audio is what a user waits for before the reply starts playing: with sentence streaming it
is the time to synthesise the first sentence. A round trip through the default recognizer is reported as
a smoke test of intelligibility only (our TTS into our ASR is never the WER figure).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from assistant.config import Settings
from assistant.speech.types import SAMPLE_RATE, Synthesizer

ONE_SENTENCE = "The kitchen lights are on."
THREE_SENTENCES = (
    "Your timer is set for ten minutes. I will remind you when it is done. Is there anything else you need?"
)
ROUND_TRIP = [
    "Turn off the bedroom lights.",
    "It is twenty degrees outside and sunny.",
    "I added eggs and bread to your shopping list.",
]


def time_stream(synth: Synthesizer, text: str) -> tuple[float, float, float]:
    """(ms to first chunk, ms for all chunks, seconds of audio)."""
    start = time.perf_counter()
    first = None
    audio_s = 0.0
    for chunk in synth.stream(text):
        if first is None:
            first = (time.perf_counter() - start) * 1000
        audio_s += len(chunk.samples) / chunk.sample_rate
    return first or 0.0, (time.perf_counter() - start) * 1000, audio_s


def bench_backend(synth: Synthesizer, repeats: int) -> dict[str, Any]:
    time_stream(synth, ONE_SENTENCE)  # warm-up (ONNX sessions allocate on first run)
    result: dict[str, Any] = {}
    for label, text in (("one_sentence", ONE_SENTENCE), ("three_sentences", THREE_SENTENCES)):
        runs = [time_stream(synth, text) for _ in range(repeats)]
        firsts, totals = [r[0] for r in runs], [r[1] for r in runs]
        audio_s = runs[0][2]
        result[label] = {
            "text": text,
            "audio_s": round(audio_s, 2),
            "first_audio_ms_median": round(statistics.median(firsts), 1),
            "first_audio_ms_max": round(max(firsts), 1),
            "total_ms_median": round(statistics.median(totals), 1),
            "rtf": round(statistics.median(totals) / 1000 / audio_s, 4) if audio_s else None,
        }
    return result


def round_trip(synth: Synthesizer, settings: Settings) -> dict[str, Any]:
    from assistant.audio import resample
    from assistant.bench.wer import corpus_wer, whisper_normalizer
    from assistant.speech.asr import load_recognizer
    from assistant.speech.tts import synthesize

    recognizer = load_recognizer(settings)
    _, normalize = whisper_normalizer()
    pairs = []
    for text in ROUND_TRIP:
        audio = resample(synthesize(synth, text), synth.sample_rate, SAMPLE_RATE)
        pairs.append((text, recognizer.transcribe(audio).text))
    wer = corpus_wer(pairs, normalize)
    return {"smoke_wer": round(wer.rate, 4), "pairs": [{"text": t, "heard": h} for t, h in pairs]}
