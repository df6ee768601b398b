"""Speech out for the OpenAI-compatible API: synthesised samples encoded as the caller's `response_format`.

WAV and raw PCM need nothing; FLAC, MP3 and Opus (in Ogg) come from libsndfile (soundfile's wheels carry
1.1+, which writes MP3), AAC from PyAV's FFmpeg. Whether an encoder works is found out once by encoding
a moment of silence, so a build without one answers "not available here" instead of failing mid-request.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass

import numpy as np

from assistant.audio import resample, wav_bytes

log = logging.getLogger("assistant.ui")

PCM_RATE = 24_000  # OpenAI's `pcm`: 24 kHz 16-bit little-endian mono, no header
OPUS_RATE = 48_000  # Opus takes 8/12/16/24/48 kHz; 48 kHz is what players expect


@dataclass(frozen=True)
class AudioFormat:
    name: str
    media_type: str
    encoder: str  # what it needs, for the "not available" message


FORMATS: dict[str, AudioFormat] = {
    f.name: f
    for f in (
        AudioFormat("wav", "audio/wav", "nothing"),
        AudioFormat("pcm", "audio/pcm", "nothing"),
        AudioFormat("flac", "audio/flac", "libsndfile"),
        AudioFormat("mp3", "audio/mpeg", "libsndfile 1.1 or newer (MP3)"),
        AudioFormat("opus", "audio/ogg", "libsndfile with Opus"),
        AudioFormat("aac", "audio/aac", "PyAV (FFmpeg) with an AAC encoder"),
    )
}


class EncoderUnavailable(RuntimeError):
    """This machine cannot write the asked-for format; the message names what is missing."""


def encode(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    """`samples` (float32 mono in [-1, 1]) as a file in `fmt` (a key of FORMATS)."""
    if not available(fmt):
        raise EncoderUnavailable(
            f"response_format {fmt!r} needs {FORMATS[fmt].encoder}, which is not installed here; "
            "ask for 'wav' (or 'pcm')."
        )
    return _encode(np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0), rate, fmt)


@functools.cache
def available(fmt: str) -> bool:
    """Whether `fmt` can be written here (tried once on a moment of silence)."""
    try:
        return len(_encode(np.zeros(2_400, dtype=np.float32), PCM_RATE, fmt)) > 0
    except Exception as exc:  # a missing codec shows up as many kinds of error
        log.info("audio format %s is not available: %s", fmt, exc)
        return False


def _encode(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    if fmt == "wav":
        return wav_bytes(samples, rate)
    if fmt == "pcm":
        return (resample(samples, rate, PCM_RATE) * 32767).astype("<i2").tobytes()
    if fmt == "aac":
        return _aac(samples, rate)
    import soundfile as sf

    buffer = io.BytesIO()
    if fmt == "flac":
        sf.write(buffer, samples, rate, format="FLAC", subtype="PCM_16")
    elif fmt == "mp3":
        sf.write(buffer, samples, rate, format="MP3", subtype="MPEG_LAYER_III")
    elif fmt == "opus":
        sf.write(buffer, resample(samples, rate, OPUS_RATE), OPUS_RATE, format="OGG", subtype="OPUS")
    else:
        raise ValueError(f"unknown audio format {fmt!r}")
    return buffer.getvalue()


def _aac(samples: np.ndarray, rate: int) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="adts") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
