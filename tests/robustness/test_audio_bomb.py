"""Compressed audio bombs: a 2 MB upload that decodes to gigabytes is refused from its header, or decoding
stops at audio.max_seconds when the header does not say how long it is (issue 18, item 1).

Each bomb is loaded in a child process that reports its own peak RSS above its baseline (numpy, soundfile,
PyAV and scipy already imported) and its CPU time: properties of the work done, not wall-clock races.
Before the fix the 20-minute 8-channel FLAC below peaked at +8.1 GB and 35 s of CPU.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.audio import CorruptAudioError, load_audio, to_speech_samples
from assistant.config import AudioSettings
from assistant.speech.types import SAMPLE_RATE

ROOT = Path(__file__).resolve().parents[2]
BOMB_SECONDS = 20 * 60
# Refused from the header: nothing is decoded, so almost nothing is spent.
HEADER_MB, HEADER_CPU_S = 50, 1.0
# Decoded until the cap: at most max_seconds of mono float32 at the file's rate (60 s at 192 kHz = 46 MB)
# plus one block; the old code held the whole signal, 2.7 to 8.1 GB for these files.
STREAM_MB, STREAM_CPU_S = 200, 5.0

CHILD = r"""
import json, resource, sys
import av, numpy, scipy.signal, soundfile  # all that decoding may import, before the baseline
from assistant.audio import load_audio
from assistant.config import AudioSettings

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

base, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu()
try:
    result = {"error": "", "samples": len(load_audio(sys.argv[1], AudioSettings(max_seconds=60.0)))}
except Exception as exc:
    result = {"error": type(exc).__name__, "message": str(exc)}
result["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024  # ru_maxrss: KiB
result["cpu_s"] = cpu() - start
print(json.dumps(result))
"""


def load_in_child(path: Path) -> dict:
    """load_audio(path) with the default 60 s cap in a fresh interpreter: outcome, peak MB, CPU seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(path.name, result)  # the measured numbers, for the report (pytest -s)
    return result


def assert_refused(result: dict, words: str, max_mb: float, max_cpu_s: float) -> None:
    assert result["error"] == "TooLongError", result
    assert words in result["message"] and "audio.max_seconds" in result["message"], result["message"]
    assert "Traceback" not in result["message"]
    assert result["peak_mb"] < max_mb, f"peak RSS +{result['peak_mb']:.0f} MB"
    assert result["cpu_s"] < max_cpu_s, f"{result['cpu_s']:.2f} s of CPU"


# --- FLAC written frame by frame (what libFLAC writes for constant audio, byte for byte, in 0.3 s) ---------


def _crc_table(poly: int, width: int) -> list[int]:
    top, mask, table = 1 << (width - 1), (1 << width) - 1, []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = (crc << 1) ^ poly if crc & top else crc << 1
        table.append(crc & mask)
    return table


CRC8, CRC16 = _crc_table(0x07, 8), _crc_table(0x8005, 16)
FLAC_RATE_CODES = {16_000: 5, 44_100: 9, 48_000: 10, 96_000: 11, 192_000: 3}


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC codes frame numbers like UTF-8 code points."""
    if n < 0x80:
        return bytes([n])
    length = 2
    while n >= 1 << (5 * length + 1):
        length += 1
    tail = []
    for _ in range(length - 1):
        tail.append(0x80 | (n & 0x3F))
        n >>= 6
    return bytes([((0xFF00 >> length) & 0xFF) | n, *reversed(tail)])


def flac_constant(
    path: Path,
    seconds: float,
    rate: int = 192_000,
    channels: int = 8,
    claims: int | None = None,
    value: int = 0,
) -> Path:
    """A 16-bit FLAC of constant audio, one 4096-frame block at a time; the signal is never in memory.

    claims: the total frame count STREAMINFO states (None: the truth; 0: unknown, as a streaming encoder
    writes it; fewer: a header that lies)."""
    block = 4096
    blocks = int(seconds * rate) // block
    total = blocks * block if claims is None else claims
    info = struct.pack(">HH", block, block) + bytes(6)  # block sizes; frame sizes unknown
    info += ((rate << 44) | ((channels - 1) << 41) | (15 << 36) | total).to_bytes(8, "big") + bytes(16)
    subframes = (b"\x00" + value.to_bytes(2, "big", signed=True)) * channels  # CONSTANT subframes
    head = bytes([0xFF, 0xF8, 0xC0 | FLAC_RATE_CODES[rate], ((channels - 1) << 4) | 0x8])  # 4096, 16 bit
    with path.open("wb") as out:
        out.write(b"fLaC\x80" + len(info).to_bytes(3, "big") + info)
        for number in range(blocks):
            header = head + _utf8_number(number)
            frame = header + bytes([_crc8(header)]) + subframes
            out.write(frame + _crc16(frame).to_bytes(2, "big"))
    return path


def webm_opus_silence(path: Path, seconds: float, duration_in_header: bool) -> Path:
    """WebM/Opus as a browser's MediaRecorder streams it: one 20 ms packet of silence, muxed over and over.

    Without duration_in_header the muxer runs as for a live stream and writes no duration, like a browser."""
    import av

    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", av.AudioFormat("flt")
    encoder.time_base = Fraction(1, 48_000)
    packets = []
    for index in range(25):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 960), np.float32), format="flt", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, index * 960, Fraction(1, 48_000)
        packets += encoder.encode(frame)
    payload = bytes(packets[-1])
    options = {} if duration_in_header else {"live": "1"}
    with av.open(str(path), mode="w", format="webm", options=options) as out:
        stream = out.add_stream("libopus", rate=48_000)
        stream.layout = "stereo"
        stream.codec_context.extradata = encoder.extradata
        for index in range(int(seconds * 50)):
            packet = av.Packet(payload)
            packet.stream, packet.time_base = stream, Fraction(1, 1000)
            packet.pts = packet.dts = index * 20
            packet.duration = 20
            out.mux(packet)
    return path


# --- bombs ---------------------------------------------------------------------------------------------


def test_flac_bomb_named_wav_is_refused_from_its_header(tmp_path):
    bomb = flac_constant(tmp_path / "bomb.wav", BOMB_SECONDS)
    info = sf.info(bomb)
    assert (info.format, info.samplerate, info.channels, info.duration) == ("FLAC", 192_000, 8, BOMB_SECONDS)
    assert bomb.stat().st_size < 2_000_000, "2 MB that would decode to 8.2 GB of float32"
    result = load_in_child(bomb)
    assert_refused(result, "1200.0 s of audio is longer than the limit of 60 s", HEADER_MB, HEADER_CPU_S)


def test_streamed_flac_without_a_length_stops_at_the_cap(tmp_path):
    bomb = flac_constant(tmp_path / "stream.flac", BOMB_SECONDS, claims=0)
    assert sf.info(bomb).frames == 2**63 - 1, "libsndfile: length unknown"
    result = load_in_child(bomb)
    assert_refused(result, "longer than the limit of 60 s", STREAM_MB, STREAM_CPU_S)
    assert "decoding stopped there" in result["message"]


def test_flac_header_that_claims_less_is_read_only_as_far_as_it_claims(tmp_path):
    lie = flac_constant(tmp_path / "lie.flac", BOMB_SECONDS, claims=10 * 192_000, value=1000)
    result = load_in_child(lie)
    assert result["error"] == "" and result["samples"] == 10 * SAMPLE_RATE, result
    assert result["peak_mb"] < STREAM_MB and result["cpu_s"] < STREAM_CPU_S, result


def test_browser_webm_without_a_duration_stops_at_the_cap(tmp_path):
    bomb = webm_opus_silence(tmp_path / "talk.webm", BOMB_SECONDS, duration_in_header=False)
    result = load_in_child(bomb)
    assert_refused(result, "longer than the limit of 60 s", STREAM_MB, STREAM_CPU_S)
    assert "decoding stopped there" in result["message"]


def test_webm_with_a_duration_is_refused_from_its_header(tmp_path):
    bomb = webm_opus_silence(tmp_path / "talk.webm", BOMB_SECONDS, duration_in_header=True)
    result = load_in_child(bomb)
    assert_refused(result, "1200.0 s of audio is longer than the limit of 60 s", HEADER_MB, HEADER_CPU_S)


# --- just over the limit, and absurd layouts ------------------------------------------------------------


def _write_tone(path: Path, seconds: float, fmt: str, rate: int = SAMPLE_RATE) -> Path:
    """A 440 Hz mono tone, written one second at a time."""
    with sf.SoundFile(path, "w", rate, 1, format=fmt, subtype="PCM_16") as out:
        for start in range(0, int(seconds * rate), rate):
            t = np.arange(start, min(start + rate, int(seconds * rate))) / rate
            out.write(0.3 * np.sin(2 * np.pi * 440 * t))
    return path


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_just_over_the_cap_is_refused_and_the_cap_itself_loads(fmt, tmp_path):
    over = load_in_child(_write_tone(tmp_path / f"over.{fmt.lower()}", 60.5, fmt))
    assert_refused(over, "60.5 s of audio is longer than the limit of 60 s", HEADER_MB, HEADER_CPU_S)
    at_cap = load_in_child(_write_tone(tmp_path / f"cap.{fmt.lower()}", 60.0, fmt))
    assert at_cap["error"] == "" and at_cap["samples"] == 60 * SAMPLE_RATE, at_cap
    assert at_cap["peak_mb"] < STREAM_MB and at_cap["cpu_s"] < STREAM_CPU_S, at_cap


def test_streamed_flac_just_over_the_cap_is_refused(tmp_path):
    flac = flac_constant(tmp_path / "over.flac", 60.5, rate=16_000, channels=1, claims=0, value=3000)
    assert_refused(load_in_child(flac), "decoding stopped there", STREAM_MB, STREAM_CPU_S)


def _wav_header_only(rate: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((rate // 100, channels), np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("rate", "channels", "words"),
    [(400_000, 1, "400000 Hz is not supported"), (16_000, 33, "33 audio channels are not supported")],
)
def test_absurd_rates_and_channel_counts_are_refused(rate, channels, words):
    with pytest.raises(CorruptAudioError) as info:
        load_audio(_wav_header_only(rate, channels), name="clip.wav")
    assert str(info.value).startswith("clip.wav:") and words in str(info.value)


def test_odd_sample_rate_resamples_in_bounded_memory(tmp_path):
    """A prime rate makes an exact polyphase filter of 7.7 M taps (+350 MB, 2 s CPU for 1 s of audio)."""
    path = _write_tone(tmp_path / "odd.wav", 2.0, "WAV", rate=383_999)
    result = load_in_child(path)
    assert result["error"] == "" and abs(result["samples"] - 2 * SAMPLE_RATE) <= 2, result
    assert result["peak_mb"] < HEADER_MB and result["cpu_s"] < HEADER_CPU_S, result
    audio = load_audio(path)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    assert abs(np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)[np.argmax(spectrum)] - 440) < 1, "pitch kept"


# --- normal audio is unchanged ---------------------------------------------------------------------------


def speech_like(seconds: float = 3.0, rate: int = 44_100) -> np.ndarray:
    """Stereo, voiced: a gliding 110-190 Hz pitch with harmonics, syllable-rate loudness, breath noise."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(150 + 40 * np.sin(2 * np.pi * 0.7 * t)) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    mono = 0.25 * voice * envelope + 0.01 * rng.standard_normal(len(t))
    return np.stack([mono, 0.8 * mono + 0.01 * rng.standard_normal(len(t))], axis=1).astype(np.float32)


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_16"), ("FLAC", None), ("OGG", "VORBIS")])
def test_normal_clip_loads_the_same_samples_as_before(fmt, subtype):
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(), 44_100, format=fmt, subtype=subtype)
    data = buffer.getvalue()
    # What load_audio did before the fix: decode everything at once, then down-mix, check and resample.
    whole, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    before = to_speech_samples(whole, rate, AudioSettings(), "clip")
    after = load_audio(data, name="clip")
    assert after.dtype == np.float32 and len(after) == 3 * SAMPLE_RATE
    np.testing.assert_array_equal(after, before)
