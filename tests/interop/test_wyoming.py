"""The Wyoming server, driven by the `wyoming` package's own client with the event sequences Home
Assistant's Wyoming integration sends (homeassistant/components/wyoming: stt.py, tts.py, conversation.py,
wake_word.py, data.py), against a server started in-process on a free port."""

from __future__ import annotations

import asyncio
import json
import socket

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)
from wyoming.wake import Detect, Detection, NotDetected

from assistant.audio import load_audio, resample
from assistant.wyoming.binding import BindError, parse_uri, plan
from assistant.wyoming.pcm import PcmFormat, to_float, to_pcm16
from tests.interop.conftest import SPEECH_DATA, RunningServer, run_async, wyoming_settings

RATE, WIDTH, CHANNELS = 16_000, 2, 1  # what Home Assistant streams
CHUNK_BYTES = 2048  # 64 ms of 16 kHz 16-bit mono
TIMEOUT = 120.0  # per event: a loaded 2-core machine; the properties below never depend on speed


def run(coroutine):  # type: ignore[no-untyped-def]
    return run_async(asyncio.wait_for(coroutine, TIMEOUT))


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()


async def read_until(client: AsyncTcpClient, *kinds: str) -> list[Event]:
    """Events up to and including the first of `kinds` (or an error, or the server hanging up)."""
    events: list[Event] = []
    while True:
        event = await client.read_event()
        if event is None:
            return events
        events.append(event)
        if event.type in kinds or Error.is_type(event.type):
            return events


async def ha_transcribe(
    port: int, pcm: bytes, rate: int = RATE, width: int = WIDTH, channels: int = CHANNELS
) -> list[Event]:
    """homeassistant/components/wyoming/stt.py: transcribe, audio-start, audio-chunk..., audio-stop."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
        step = CHUNK_BYTES * width * channels // 2
        try:
            for i in range(0, len(pcm), step):
                chunk = AudioChunk(rate=rate, width=width, channels=channels, audio=pcm[i : i + step])
                await client.write_event(chunk.event())
            await client.write_event(AudioStop().event())
        except (ConnectionError, OSError):
            pass  # the server refused the audio part-way and hung up: its error event is waiting
        return await read_until(client, "transcript")


async def ha_synthesize(port: int, text: str, voice: SynthesizeVoice | None = None) -> list[Event]:
    """tts.py, async_get_tts_audio: one synthesize, then audio until audio-stop."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Synthesize(text=text, voice=voice).event())
        return await read_until(client, "audio-stop")


async def ha_handle(port: int, text: str, conversation_id: str) -> Event:
    """conversation.py: a transcript with the conversation id in its context; wait for (not-)handled."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        context = {"conversation_id": conversation_id}
        await client.write_event(Transcript(text, context=context, language="en").event())
        events = await read_until(client, "handled", "not-handled")
        return events[-1]


def audio_of(events: list[Event]) -> tuple[np.ndarray, int]:
    starts = [AudioStart.from_event(e) for e in events if AudioStart.is_type(e.type)]
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    assert starts and chunks, [e.type for e in events]
    fmt = PcmFormat(starts[0].rate, starts[0].width, starts[0].channels)
    assert all((c.rate, c.width, c.channels) == (fmt.rate, fmt.width, fmt.channels) for c in chunks)
    return to_float(b"".join(c.audio for c in chunks), fmt)[:, 0], fmt.rate


def heard(server: RunningServer, samples: np.ndarray, rate: int) -> list[str]:
    """What our own recognizer hears in audio the server spoke."""
    return words(server.pipeline.runtime.recognizer().transcribe(resample(samples, rate, RATE)).text)


def pcm16k(samples: np.ndarray) -> bytes:
    return to_pcm16(samples)


@pytest.fixture(scope="module")
def jfk() -> np.ndarray:
    return load_audio(SPEECH_DATA / "jfk" / "jfk.flac")


# --- describe ---------------------------------------------------------------------------------------------


def test_describe_lists_asr_tts_wake_and_the_assistant_as_a_conversation_agent(server):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(Describe().event())
            return await read_until(client, "info")

    info = Info.from_event(run(go())[-1])
    (asr,), (tts,), (wake,), (handle,) = info.asr, info.tts, info.wake, info.handle
    assert all(p.installed for p in (asr, tts, wake, handle))
    assert asr.models[0].name == "tiny.en" and asr.models[0].languages == ["en"]
    assert [v.name for v in tts.voices] == ["en_US-joe-medium"] and tts.supports_synthesize_streaming
    assert {m.name: m.phrase for m in wake.models} == {
        "alexa": "Alexa",
        "hey_jarvis": "Hey Jarvis",
        "hey_mycroft": "Hey Mycroft",
        "okay_nabu": "Okay Nabu",
    }
    assert wake.models[0].name == "alexa"  # the configured wake word first: Home Assistant's default
    assert handle.models[0].languages == ["en"] and info.intent == []  # HA then uses `handle`


def test_ping_is_answered(server):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(Ping(text="x").event())
            return await read_until(client, "pong")

    assert Pong.from_event(run(go())[-1]).text == "x"


# --- speech to text ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_transcribes_what_home_assistant_streams(server, jfk):
    (event,) = run(ha_transcribe(server.port, pcm16k(jfk)))
    transcript = Transcript.from_event(event)
    assert "ask not what your country can do for you" in " ".join(words(transcript.text)), transcript.text
    assert transcript.language == "en"


@pytest.mark.slow
def test_transcribes_any_rate_and_channel_count(server):
    """44.1 kHz stereo 16-bit (the JFK file as recorded), not only Home Assistant's 16 kHz mono."""
    import soundfile as sf

    samples, rate = sf.read(SPEECH_DATA / "jfk" / "jfk.flac", dtype="int16", always_2d=True)
    stereo = np.repeat(samples[:, :1], 2, axis=1) if samples.shape[1] == 1 else samples
    (event,) = run(ha_transcribe(server.port, stereo.astype("<i2").tobytes(), rate=rate, channels=2))
    assert "ask not what your country" in " ".join(words(Transcript.from_event(event).text))


def test_silence_gives_an_empty_transcript(server):
    (event,) = run(ha_transcribe(server.port, bytes(RATE * WIDTH)))
    assert Transcript.from_event(event).text == ""


def test_audio_over_the_limit_is_refused_with_an_error(server):
    """audio.max_seconds is 20 here: the server stops at the limit, not after taking all 25 s."""
    noise = np.random.default_rng(0).normal(0, 0.1, 25 * RATE).astype(np.float32)
    events = run(ha_transcribe(server.port, pcm16k(noise)))
    error = Error.from_event(events[-1])
    assert error.code == "audio-too-long" and "20 s" in error.text


@pytest.mark.parametrize(
    ("fmt", "message"),
    [((16_000, 3, 1), "3 bytes"), ((0, 2, 1), "0 Hz"), ((16_000, 2, 99), "99 audio channels")],
)
def test_unreadable_audio_formats_get_a_clear_error(server, fmt, message):
    rate, width, channels = fmt
    events = run(ha_transcribe(server.port, bytes(width * channels * 100), rate, width, channels))
    error = Error.from_event(events[-1])
    assert error.code == "bad-audio" and message in error.text


def test_a_language_we_cannot_hear_is_refused(server):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(Transcribe(language="de").event())
            return await read_until(client)

    error = Error.from_event(run(go())[-1])
    assert error.code == "unsupported-language" and "'de'" in error.text


# --- text to speech ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_synthesizes_what_home_assistant_asks_for(server):
    events = run(ha_synthesize(server.port, "Hello there. The kitchen timer is done."))
    assert events[0].type == "audio-start" and events[-1].type == "audio-stop"
    assert AudioStart.from_event(events[0]).rate == 22_050
    samples, rate = audio_of(events)
    assert 1.0 < len(samples) / rate < 8.0
    said = heard(server, samples, rate)
    assert {"hello", "kitchen", "timer"} <= set(said), said


@pytest.mark.slow
def test_streamed_text_is_spoken_sentence_by_sentence(server):
    """tts.py, async_stream_tts_audio: synthesize-start, synthesize-chunk..., synthesize (the whole text,
    for older servers), synthesize-stop; audio until synthesize-stopped. A finished sentence is spoken
    before the rest of the text arrives."""

    async def go():
        voice = SynthesizeVoice(name="en_US-joe-medium")
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(SynthesizeStart(voice=voice).event())
            await client.write_event(SynthesizeChunk(text="Good morning. It is").event())
            first = await read_until(client, "audio-chunk")  # before any more text is sent
            rest = ["sunny today."]
            for piece in rest:
                await client.write_event(SynthesizeChunk(text=" " + piece).event())
            await client.write_event(Synthesize(text="Good morning. It is sunny today.", voice=voice).event())
            await client.write_event(SynthesizeStop().event())
            return first, await read_until(client, "synthesize-stopped")

    first, rest = run(go())
    assert [e.type for e in first] == ["audio-start", "audio-chunk"]
    events = first + rest
    assert SynthesizeStopped.is_type(events[-1].type) and events[-2].type == "audio-stop"
    assert sum(AudioStart.is_type(e.type) for e in events) == 1  # one stream, as Home Assistant plays it
    said = heard(server, *audio_of(events))
    assert said.count("morning") == 1 and "sunny" in said, (
        said
    )  # the compatibility `synthesize` is not spoken


def test_unknown_voice_too_long_or_empty_text_get_errors(server):
    unknown = run(ha_synthesize(server.port, "Hi.", SynthesizeVoice(name="de_DE-thorsten-high")))
    assert Error.from_event(unknown[-1]).code == "unknown-voice"
    too_long = run(ha_synthesize(server.port, "a" * 10_001))
    assert Error.from_event(too_long[-1]).code == "text-too-long"
    empty = run(ha_synthesize(server.port, "   "))
    assert Error.from_event(empty[-1]).code == "bad-text"


# --- the whole assistant as a conversation agent ----------------------------------------------------------


@pytest.mark.slow
def test_conversations_keep_their_own_follow_ups_and_memory(server):
    """Two Home Assistant conversations at once: each follow-up answers its own question, each lands in a
    conversation of its own in the memory, and the context comes back as Home Assistant sent it."""
    kitchen, hall = "01JKITCHENCONVERSATION0001", "01JHALLCONVERSATION0000001"
    asked = Handled.from_event(run(ha_handle(server.port, "set a timer", kitchen)))
    assert asked.text.strip().endswith("?") and asked.context == {"conversation_id": kitchen}, asked
    other = Handled.from_event(run(ha_handle(server.port, "set a timer", hall)))
    assert other.text.strip().endswith("?")
    done = Handled.from_event(run(ha_handle(server.port, "ten minutes", kitchen)))
    assert "10 minutes" in done.text or "ten minutes" in done.text, done.text
    done2 = Handled.from_event(run(ha_handle(server.port, "five minutes", hall)))
    assert "5 minutes" in done2.text or "five minutes" in done2.text, done2.text

    memory = server.pipeline.memory
    user = memory.user(server.pipeline.settings.wyoming.user)  # the owner unless configured
    assert sorted(t.duration_s for t in memory.timers(user.id)) == [300, 600]
    conversations = memory.list_conversations(user.id)
    assert len(conversations) == 2
    assert sorted(memory.count_turns(user.id, c.id) for c in conversations) == [2, 2]


def test_an_empty_request_is_not_handled_with_a_reason(server):
    reply = run(ha_handle(server.port, "   ", "01JEMPTY00000000000000000"))
    assert NotHandled.is_type(reply.type) and "words" in NotHandled.from_event(reply).text


# --- wake word --------------------------------------------------------------------------------------------


async def ha_detect(port: int, pcm: bytes, names: list[str] | None, stop: bool) -> list[Event]:
    """wake_word.py: detect, audio-start, then chunks with timestamps until a detection (HA never sends
    audio-stop; a satellite's stream just goes on)."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Detect(names=names).event())
        await client.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
        for i in range(0, len(pcm), CHUNK_BYTES):
            ms = i // (RATE * WIDTH // 1000)
            chunk = AudioChunk(
                rate=RATE, width=WIDTH, channels=CHANNELS, audio=pcm[i : i + CHUNK_BYTES], timestamp=ms
            )
            await client.write_event(chunk.event())
        if stop:
            await client.write_event(AudioStop().event())
        return await read_until(client, "detection", "not-detected")


@pytest.mark.slow
def test_wake_word_is_detected_in_a_stream_and_absent_speech_is_not(server):
    synth = server.pipeline.runtime.synthesizer()
    from assistant.speech.tts import synthesize

    def spoken(text: str) -> np.ndarray:
        said = resample(synthesize(synth, text), synth.sample_rate, RATE)
        return np.concatenate([np.zeros(RATE, np.float32), said, np.zeros(RATE, np.float32)])

    woke = run(ha_detect(server.port, pcm16k(spoken("Alexa, what time is it?")), ["alexa"], stop=False))
    detection = Detection.from_event(woke[-1])
    assert detection.name == "alexa" and 1000 <= detection.timestamp <= 2600, detection
    asleep = run(ha_detect(server.port, pcm16k(spoken("What time is it?")), None, stop=True))
    assert [e.type for e in asleep] == [NotDetected().event().type]


def test_an_unknown_wake_word_is_refused(server):
    events = run(ha_detect(server.port, b"", ["hey_siri"], stop=False))
    error = Error.from_event(events[-1])
    assert error.code == "unknown-wake-word" and "alexa" in error.text


# --- hostile or broken clients ----------------------------------------------------------------------------


def raw_exchange(port: int, data: bytes) -> list[Event]:
    """Send raw bytes; the events that come back before the server hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    events = []
    while received:
        line, _, received = received.partition(b"\n")
        header = json.loads(line)
        size = header.get("data_length") or 0
        data_, received = (
            json.loads(received[:size] or b"{}"),
            received[size + (header.get("payload_length") or 0) :],
        )
        events.append(Event(type=header["type"], data={**header.get("data", {}), **data_}))
    return events


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"this is not json\n", "not valid JSON"),
        (b'["a list"]\n', "not a JSON object"),
        (b'{"data": {}}\n', "no `type`"),
        (b'{"type": "audio-chunk", "payload_length": 999999999999}\n', "the most is"),
        (b'{"type": "describe", "data_length": -5}\n', "not a byte count"),
        (b"{" + b"x" * 70_000 + b"\n", "longer than"),
    ],
)
def test_malformed_events_get_an_error_and_the_server_keeps_serving(server, data, says):
    (event,) = raw_exchange(server.port, data)
    error = Error.from_event(event)
    assert error.code == "protocol" and says in error.text, error
    test_ping_is_answered(server)  # still serving


def test_a_chunk_without_its_start_and_a_stop_without_a_stream_are_refused(server):
    async def go(event: Event):
        async with AsyncTcpClient("127.0.0.1", server.port) as client:
            await client.write_event(event)
            return await read_until(client)

    assert Error.from_event(run(go(SynthesizeChunk(text="hi").event()))[-1]).code == "bad-request"
    assert Error.from_event(run(go(SynthesizeStop().event()))[-1]).code == "bad-request"


def test_idle_and_surplus_connections_are_closed(tmp_path):
    from assistant.memory.db import dispose_engine

    settings = wyoming_settings(tmp_path, idle_timeout_s=0.5, max_connections=1)
    running = RunningServer(settings)
    try:

        async def go():
            async with AsyncTcpClient("127.0.0.1", running.port) as first:
                await first.write_event(Ping().event())
                await read_until(first, "pong")
                async with AsyncTcpClient("127.0.0.1", running.port) as second:
                    busy = await read_until(second)
                idle = await read_until(first)  # nothing sent: closed after idle_timeout_s
            return busy, idle

        busy, idle = run(go())
        assert Error.from_event(busy[-1]).code == "busy"
        assert Error.from_event(idle[-1]).code == "idle"
    finally:
        running.close()
        dispose_engine(settings.database_url)


# --- where it may listen ----------------------------------------------------------------------------------


def test_localhost_by_default_and_elsewhere_only_when_explicitly_allowed(tmp_path):
    settings = wyoming_settings(tmp_path)
    assert settings.wyoming.uri == "tcp://127.0.0.1:10700" and settings.wyoming.enabled is False
    assert plan(settings, settings.wyoming.uri).warnings == ()
    assert plan(settings, "tcp://localhost:10700").binding.host == "localhost"
    assert plan(settings, "unix:///tmp/a.sock").binding.path == "/tmp/a.sock"
    with pytest.raises(BindError, match="no login"):
        plan(settings, "tcp://0.0.0.0:10700")
    exposed = plan(settings, "tcp://0.0.0.0:10700", insecure_no_auth=True)
    assert exposed.binding.where == "tcp://0.0.0.0:10700" and "WITHOUT a login" in exposed.warnings[0]
    for bad in ("tcp://127.0.0.1", "http://127.0.0.1:80", "tcp://127.0.0.1:99999", "unix://"):
        with pytest.raises(BindError):
            parse_uri(bad)


def test_the_cli_refuses_a_public_interface_before_loading_anything(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["wyoming", "--uri", "tcp://0.0.0.0:10700"])
    assert result.exit_code != 0 and "no login" in result.output.replace("\n", " ")


def test_serve_starts_it_beside_the_web_app_only_when_enabled(tmp_path):
    """`assistant serve` calls `start_beside`: off by default, on the same pipeline when enabled."""
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline
    from assistant.wyoming.cli import start_beside

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    off = Pipeline(wyoming_settings(tmp_path))
    assert start_beside(off) is None
    on = Pipeline(wyoming_settings(tmp_path, enabled=True, uri=f"tcp://127.0.0.1:{port}"))
    beside = start_beside(on)
    try:
        assert beside.server.services.pipeline is on
        test_ping_is_answered(type("S", (), {"port": port})())
    finally:
        beside.close()
        for pipeline in (off, on):
            pipeline.runtime.close()
        dispose_engine(on.settings.database_url)
    exposed = Pipeline(wyoming_settings(tmp_path, enabled=True, uri="tcp://0.0.0.0:10700"))
    with pytest.raises(BindError, match="no login"):
        start_beside(exposed)
    exposed.runtime.close()


def test_collected_audio_is_bounded_in_bytes_as_well_as_seconds():
    """A 32-channel 384 kHz stream stays under the 20 s limit for long after it passes the byte limit."""
    from assistant.wyoming.asr import AudioCollector
    from assistant.wyoming.protocol import RequestError

    collector = AudioCollector(max_seconds=20, max_bytes=4 * 384_000 * 32)  # ~1 s of such audio
    second = bytes(4 * 384_000 * 32)
    collector.add(384_000, 4, 32, second)
    with pytest.raises(RequestError, match="audio.max_upload_mb"):
        collector.add(384_000, 4, 32, bytes(4 * 32))
    assert collector.parts == []  # what it held is released at once
