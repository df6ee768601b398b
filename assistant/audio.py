"""Audio in: decode any common format from bytes or a path into 16 kHz mono float32, with clear limits.

soundfile (libsndfile) reads WAV, FLAC, OGG/Vorbis and, on recent builds, MP3 quickly; PyAV (FFmpeg)
reads the rest, notably WebM/Opus as browsers record it. Every problem the user can cause (empty, too
short, silence only, too long, corrupt, NaN) is an `AudioError` subclass with a readable message.

Cost is bounded by audio.max_seconds, not by the upload's size: a 2 MB FLAC can hold 20 minutes of
8-channel 192 kHz audio (8.5 GiB decoded). So the header's length is checked before decoding, and
decoding runs block by block, down-mixed to mono as it goes, stopping as soon as it passes the limit.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from fractions import Fraction
from math import ceil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import AudioSettings
from assistant.speech.types import SAMPLE_RATE

if TYPE_CHECKING:
    import av.container
    import av.stream
    import soundfile

AudioSource = bytes | bytearray | str | Path

SILENCE_PEAK = 1e-3  # below this peak amplitude (-60 dBFS) a clip is silence, whatever the format
MAX_RATE = 384_000  # Hz: the highest rate audio hardware records; beyond it is a crafted file
MAX_CHANNELS = 32  # more than any microphone array; each channel multiplies the decoding work
BLOCK_FRAMES = 65_536  # frames decoded per step: at most 8 MB in memory at MAX_CHANNELS
UNKNOWN_FRAMES = 2**63 - 1  # libsndfile's SF_COUNT_MAX: the header does not say how long (streamed FLAC)
AV_HEADER_SLACK = 1.25  # FFmpeg may estimate a raw stream's duration from its bit rate: refuse when clear
MAX_RATIO_TERM = 1000  # resample_poly designs 20 x max(up, down) taps; 44.1 kHz needs 441


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
    samples, rate = decode(data, label, settings.max_seconds)
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
        raise _too_long(label, settings.max_seconds, seconds)
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


def decode(data: bytes, label: str = "audio", max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Bytes of any supported container -> (float32 mono samples, sample rate), at most max_seconds long.

    Raises TooLongError without decoding when the header says the audio is longer than max_seconds
    (default: AudioSettings().max_seconds), and as soon as decoding passes it when the header is silent.
    Channels are averaged block by block, so a many-channel file never sits in memory whole.
    """
    cap = AudioSettings().max_seconds if max_seconds is None else max_seconds
    decoded = _decode_with_soundfile(data, label, cap)
    return decoded if decoded is not None else _decode_with_av(data, label, cap)


def _decode_with_soundfile(data: bytes, label: str, cap: float) -> tuple[np.ndarray, int] | None:
    """libsndfile's formats; None when it does not know the format (WebM, MP4, ...) or cannot read it."""
    import soundfile as sf

    try:
        with sf.SoundFile(io.BytesIO(data)) as file:
            rate, frames = int(file.samplerate), int(file.frames)
            _check_layout(rate, int(file.channels), label)
            if 0 <= frames < UNKNOWN_FRAMES and frames / rate > cap:
                raise _too_long(label, cap, frames / rate)
            # soundfile never reads past the header's frame count; the cap still guards an unknown one.
            return _collect(((to_mono(block), rate) for block in _sf_blocks(file)), cap, label), rate
    except AudioError:
        raise
    except Exception:  # unknown format, or corrupt for libsndfile: FFmpeg gets a try, as before
        return None


def _sf_blocks(file: soundfile.SoundFile) -> Iterable[np.ndarray]:
    while True:
        block = file.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
        if len(block):
            yield block
        if len(block) < BLOCK_FRAMES:
            return


def _decode_with_av(data: bytes, label: str, cap: float) -> tuple[np.ndarray, int]:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise CorruptAudioError(f"{label}: the file has no audio stream.")
            stream = container.streams.audio[0]
            _check_layout(stream.codec_context.sample_rate or 1, stream.codec_context.channels or 1, label)
            seconds = _av_header_seconds(container, stream)
            if seconds is not None and seconds > cap * AV_HEADER_SLACK:
                raise _too_long(label, cap, seconds)
            # Down-mix to packed float32 at the stream's own rate; our polyphase resampler does the rest.
            resampler = av.AudioResampler(format="flt", layout="mono")
            rate = 0

            def mono_parts() -> Iterable[tuple[np.ndarray, int]]:
                nonlocal rate  # the resampler keeps the first frame's rate for all output
                for frame in container.decode(stream):
                    _check_layout(frame.sample_rate, frame.layout.nb_channels, label)
                    rate = rate or frame.sample_rate
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1), rate
                for out in resampler.resample(None):
                    yield out.to_ndarray().reshape(-1), rate

            samples = _collect(mono_parts(), cap, label)
    except AudioError:
        raise
    except Exception as exc:  # av.error.InvalidDataError and friends
        raise CorruptAudioError(f"{label}: not a supported audio file, or it is corrupt ({exc}).") from None
    if not samples.size or not rate:
        raise EmptyAudioError(f"{label}: the file decodes to no audio samples.")
    return samples, int(rate)


def _av_header_seconds(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    """The stream's duration, else the container's; None when neither says (WebM from MediaRecorder)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _collect(parts: Iterable[tuple[np.ndarray, int]], cap: float, label: str) -> np.ndarray:
    """Concatenate (mono block, rate) parts; TooLongError as soon as they pass cap seconds."""
    kept: list[np.ndarray] = []
    frames = 0
    for part, rate in parts:
        kept.append(part)
        frames += len(part)
        if frames / rate > cap:
            kept.clear()  # the traceback keeps this frame alive while the caller reports the error
            raise TooLongError(
                f"{label}: the audio is longer than the limit of {cap:g} s (setting audio.max_seconds); "
                "decoding stopped there."
            )
    return np.concatenate(kept).astype(np.float32, copy=False) if kept else np.zeros(0, np.float32)


def _check_layout(rate: int, channels: int, label: str) -> None:
    if not 0 < rate <= MAX_RATE:
        raise CorruptAudioError(
            f"{label}: a sample rate of {rate} Hz is not supported (the most is {MAX_RATE} Hz)."
        )
    if not 0 < channels <= MAX_CHANNELS:
        raise CorruptAudioError(
            f"{label}: {channels} audio channels are not supported (the most is {MAX_CHANNELS})."
        )


def _too_long(label: str, limit: float, seconds: float) -> TooLongError:
    return TooLongError(
        f"{label}: {seconds:.1f} s of audio is longer than the limit of {limit:g} s "
        "(setting audio.max_seconds)."
    )


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

    up, down = _ratio(int(rate), int(target))
    return resample_poly(samples, up, down).astype(np.float32)


def _ratio(rate: int, target: int) -> tuple[int, int]:
    """up/down for resample_poly: exact for every common rate; an odd one (a prime like 383999 Hz) is
    approximated within a few ppm, because its exact filter takes 350 MB and 2 s of CPU for 1 s of audio."""
    exact = Fraction(target, rate)
    if max(exact.numerator, exact.denominator) <= MAX_RATIO_TERM:
        return exact.numerator, exact.denominator
    small = min(exact, 1 / exact)  # in (0, 1): limit_denominator bounds both its terms
    close = small.limit_denominator(max(MAX_RATIO_TERM, 4 * ceil(1 / small)))
    ratio = close if exact < 1 else 1 / close
    return ratio.numerator, ratio.denominator


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
