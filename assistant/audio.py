"""Audio in: decode any common format from bytes or a path into 16 kHz mono float32, with clear limits.

soundfile (libsndfile) reads WAV, FLAC, OGG/Vorbis and, on recent builds, MP3 quickly; PyAV (FFmpeg)
reads the rest, notably WebM/Opus as browsers record it. Every problem the user can cause (empty, too
short, silence only, too long, corrupt, NaN) is an `AudioError` subclass with a readable message.
"""

from __future__ import annotations

import io
from math import gcd
from pathlib import Path

import numpy as np

from assistant.config import AudioSettings
from assistant.speech.types import SAMPLE_RATE

AudioSource = bytes | bytearray | str | Path

SILENCE_PEAK = 1e-3  # below this peak amplitude (-60 dBFS) a clip is silence, whatever the format


class AudioError(ValueError):
    """Audio the assistant cannot use; the message says what is wrong in plain words."""


class EmptyAudioError(AudioError):
    """No bytes or no samples at all."""


class CorruptAudioError(AudioError):
    """Not audio, or audio that cannot be decoded."""


class InvalidSamplesError(AudioError):
    """Samples that are NaN or infinite."""


class TooShortError(AudioError):
    """Shorter than settings.audio.min_seconds."""


class TooLongError(AudioError):
    """Longer than settings.audio.max_seconds, or a file over settings.audio.max_upload_mb."""


class SilenceOnlyError(AudioError):
    """Nothing but silence (or no speech found by the voice activity detector)."""


def load_audio(
    source: AudioSource, settings: AudioSettings | None = None, name: str | None = None
) -> np.ndarray:
    """Decode, down-mix, resample to 16 kHz and check the limits. Returns float32 mono in [-1, 1]."""
    settings = settings or AudioSettings()
    label = name or (str(source) if isinstance(source, str | Path) else "audio")
    data = _read_bytes(source, settings, label)
    samples, rate = decode(data, label)
    return to_speech_samples(samples, rate, settings, label)


def to_speech_samples(
    samples: np.ndarray, rate: int, settings: AudioSettings | None = None, label: str = "audio"
) -> np.ndarray:
    """Any (frames,) or (frames, channels) array at any rate -> checked 16 kHz mono float32."""
    settings = settings or AudioSettings()
    samples = to_mono(np.asarray(samples))
    if samples.size == 0:
        raise EmptyAudioError(f"{label}: the audio has no samples.")
    if not np.isfinite(samples).all():
        raise InvalidSamplesError(f"{label}: the audio contains NaN or infinite samples.")
    if rate <= 0:
        raise CorruptAudioError(f"{label}: invalid sample rate {rate} (it must be positive).")
    seconds = samples.shape[0] / rate
    if seconds > settings.max_seconds:
        raise TooLongError(
            f"{label}: {seconds:.1f} s of audio is longer than the limit of {settings.max_seconds:g} s "
            "(setting audio.max_seconds)."
        )
    if seconds < settings.min_seconds:
        raise TooShortError(
            f"{label}: {seconds:.2f} s of audio is shorter than the minimum of {settings.min_seconds:g} s "
            "(setting audio.min_seconds)."
        )
    samples = resample(samples, rate, SAMPLE_RATE)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilenceOnlyError(f"{label}: the audio is silence only; nothing was said.")
    return np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False)


def _read_bytes(source: AudioSource, settings: AudioSettings, label: str) -> bytes:
    limit = int(settings.max_upload_mb * 1024 * 1024)
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise AudioError(f"{label}: no such file.")
        if path.stat().st_size > limit:
            raise TooLongError(f"{label}: the file is larger than {settings.max_upload_mb:g} MB.")
        data = path.read_bytes()
    if not data:
        raise EmptyAudioError(f"{label}: the file is empty (0 bytes).")
    if len(data) > limit:
        raise TooLongError(f"{label}: the upload is larger than {settings.max_upload_mb:g} MB.")
    return data


def decode(data: bytes, label: str = "audio") -> tuple[np.ndarray, int]:
    """Bytes of any supported container -> (float32 samples, sample rate), channels kept."""
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        return samples, int(rate)
    except Exception:  # libsndfile does not know the format (WebM, MP4, ...) or it is corrupt: try FFmpeg
        pass
    return _decode_with_av(data, label)


def _decode_with_av(data: bytes, label: str) -> tuple[np.ndarray, int]:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise CorruptAudioError(f"{label}: the file has no audio stream.")
            stream = container.streams.audio[0]
            # Resample to packed float32 at the stream's own rate; our polyphase resampler does the rest.
            resampler = av.AudioResampler(format="flt", layout="mono")
            parts = []
            rate = 0
            for frame in container.decode(stream):
                rate = rate or frame.sample_rate
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except Exception as exc:  # av.error.InvalidDataError and friends
        raise CorruptAudioError(f"{label}: not a supported audio file, or it is corrupt ({exc}).") from None
    if not parts or not rate:
        raise EmptyAudioError(f"{label}: the file decodes to no audio samples.")
    return np.concatenate(parts).astype(np.float32)[:, None], int(rate)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) -> (frames,) float32 by averaging channels."""
    if samples.ndim == 2:
        samples = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    elif samples.ndim != 1:
        raise CorruptAudioError(
            f"expected (frames,) or (frames, channels) samples, got shape {samples.shape}."
        )
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
    return samples.astype(np.float32, copy=False)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (anti-aliased), exact for rational ratios like 44100 -> 16000 (160/441)."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    if rate <= 0:
        raise CorruptAudioError(f"invalid sample rate {rate}.")
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    return resample_poly(samples, target // g, rate // g).astype(np.float32)


def write_wav(path: Path | str, samples: np.ndarray, rate: int) -> Path:
    """Write 16-bit PCM WAV (what every player opens)."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(samples, -1.0, 1.0), rate, subtype="PCM_16")
    return path


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
