"""Raw PCM as Wyoming carries it (little-endian integers, interleaved channels) to and from float32."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.audio import MAX_CHANNELS, MAX_RATE

DTYPES = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}  # 8-bit WAV PCM is unsigned


class PcmError(ValueError):
    """Audio bytes or a format we cannot read; the message says which."""


@dataclass(frozen=True)
class PcmFormat:
    rate: int
    width: int  # bytes per sample
    channels: int

    @classmethod
    def checked(cls, rate: object, width: object, channels: object) -> PcmFormat:
        """The format of an audio-start or audio-chunk event, refused when no microphone could send it."""
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (rate, width, channels)):
            raise PcmError(
                f"Audio rate, width and channels must be integers (got {rate!r}, {width!r}, {channels!r})."
            )
        assert isinstance(rate, int) and isinstance(width, int) and isinstance(channels, int)
        if not 0 < rate <= MAX_RATE:
            raise PcmError(f"A sample rate of {rate} Hz is not supported (1 to {MAX_RATE:,} Hz).")
        if width not in DTYPES:
            raise PcmError(f"Samples of {width} bytes are not supported (1, 2 or 4; 2 = 16-bit).")
        if not 0 < channels <= MAX_CHANNELS:
            raise PcmError(f"{channels} audio channels are not supported (1 to {MAX_CHANNELS}).")
        return cls(rate, width, channels)

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels


def to_float(pcm: bytes, fmt: PcmFormat) -> np.ndarray:
    """Whole frames of PCM -> (frames, channels) float32 in [-1, 1]."""
    if len(pcm) % fmt.frame_bytes:
        raise PcmError(f"The audio is not whole frames of {fmt.frame_bytes} bytes ({len(pcm)} bytes).")
    samples = np.frombuffer(pcm, dtype=DTYPES[fmt.width]).astype(np.float32)
    if fmt.width == 1:
        samples = (samples - 128.0) / 128.0
    else:
        samples /= float(np.iinfo(DTYPES[fmt.width]).max)
    return samples.reshape(-1, fmt.channels)


def to_pcm16(samples: np.ndarray) -> bytes:
    """float32 mono -> 16-bit little-endian PCM, what Home Assistant plays."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()
