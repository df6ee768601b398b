"""Decoding every format and rate into 16 kHz mono, and a clear error for every kind of bad audio."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from assistant.audio import (
    AudioError,
    CorruptAudioError,
    EmptyAudioError,
    InvalidSamplesError,
    SilenceOnlyError,
    TooLongError,
    TooShortError,
    load_audio,
)
from assistant.config import AudioSettings
from assistant.speech.types import SAMPLE_RATE


def tone(rate: int, seconds: float = 1.0, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def peak_hz(audio: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[np.argmax(spectrum)])


def encode_sf(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def encode_av(samples: np.ndarray, rate: int, container: str, codec: str, out_rate: int) -> bytes:
    """Encode mono float samples with PyAV (FFmpeg), as a browser or phone would hand them to us."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=out_rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=out_rate)
        frame = av.AudioFrame.from_ndarray(
            samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = rate
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


FORMATS = {
    "wav": lambda x, r: encode_sf(x, r, "WAV", "PCM_16"),
    "flac": lambda x, r: encode_sf(x, r, "FLAC"),
    "ogg-vorbis": lambda x, r: encode_sf(x, r, "OGG", "VORBIS"),
    "mp3": lambda x, r: encode_av(x, r, "mp3", "libmp3lame", 44100),
    "webm-opus": lambda x, r: encode_av(x, r, "webm", "libopus", 48000),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_formats_round_trip(fmt):
    data = FORMATS[fmt](tone(SAMPLE_RATE), SAMPLE_RATE)
    audio = load_audio(data, name=fmt)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - 1.0) < 0.08, "duration survives encoding"
    assert abs(peak_hz(audio) - 440) < 5, "pitch survives encoding and resampling"
    assert 0.2 < np.sqrt(np.mean(audio**2)) < 0.5


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44100, 1), (48000, 2), (22050, 2)])
def test_sample_rates_and_channels(rate, channels, tmp_path):
    path = tmp_path / f"tone_{rate}_{channels}.wav"
    sf.write(path, tone(rate, 1.5, 1000.0, channels), rate, subtype="PCM_16")
    audio = load_audio(path)
    assert len(audio) == pytest.approx(1.5 * SAMPLE_RATE, abs=2)
    assert abs(peak_hz(audio) - 1000) < 3
    assert np.abs(audio).max() == pytest.approx(0.5, abs=0.03), "stereo is averaged, not summed"


def test_real_stereo_44k_flac():
    from tests.speech.conftest import SPEECH_DATA

    audio = load_audio(SPEECH_DATA / "jfk" / "jfk.flac")
    assert len(audio) / SAMPLE_RATE == pytest.approx(11.0, abs=0.1)


def _wav(samples, rate=SAMPLE_RATE, subtype="PCM_16") -> bytes:
    return encode_sf(np.asarray(samples, dtype=np.float32), rate, "WAV", subtype)


@pytest.mark.parametrize(
    ("data", "settings", "error", "words"),
    [
        (b"", None, EmptyAudioError, "empty"),
        (_wav(np.zeros(0)), None, EmptyAudioError, "no samples"),
        (_wav(tone(SAMPLE_RATE, 0.05)), None, TooShortError, "shorter than the minimum"),
        (_wav(np.zeros(SAMPLE_RATE)), None, SilenceOnlyError, "silence"),
        (_wav(tone(8000, 61.0), rate=8000), None, TooLongError, "longer than the limit of 60 s"),
        (_wav(tone(SAMPLE_RATE, 3.0)), AudioSettings(max_seconds=2.0), TooLongError, "audio.max_seconds"),
        (_wav(tone(SAMPLE_RATE, 3.0)), AudioSettings(max_upload_mb=0.01), TooLongError, "larger than"),
        (b"this is plainly not audio at all" * 10, None, CorruptAudioError, "not a supported audio file"),
        (
            bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8)),
            None,
            CorruptAudioError,
            "corrupt",
        ),
        (_wav(tone(SAMPLE_RATE))[:30], None, AudioError, "audio"),  # header cut short
        (_wav(np.full(SAMPLE_RATE, np.nan), subtype="FLOAT"), None, InvalidSamplesError, "NaN"),
    ],
    ids=[
        "empty-bytes",
        "zero-samples",
        "too-short",
        "silence",
        "too-long",
        "custom-cap",
        "upload-size",
        "text",
        "random-bytes",
        "truncated",
        "nan",
    ],  # fmt: skip
)
def test_bad_audio_gets_a_clear_error(data, settings, error, words):
    with pytest.raises(error) as info:
        load_audio(data, settings, name="clip.wav")
    message = str(info.value)
    assert words in message
    assert message.startswith("clip.wav:"), "the message names the input"
    assert "Traceback" not in message


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
