"""The Wyoming server: one connection per client, each event dispatched to its service.

Home Assistant opens a connection per request (describe, one transcription, one synthesis, one turn, one
wake-word stream) and closes it when answered; a connection may also carry several requests in turn.
Model work (recognition, synthesis, the turn) runs in worker threads, so one slow request never stalls
another connection. Nothing a client sends can stop the server: malformed framing ends that connection with
an `error` event, a bad request likewise (with a message saying what was wrong), an idle one is closed after
`wyoming.idle_timeout_s`, and past `wyoming.max_connections` a newcomer is told the server is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.handle import NotHandled
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped
from wyoming.wake import Detect

from assistant.pipeline import Pipeline
from assistant.wyoming import asr, handle, tts
from assistant.wyoming.binding import Binding
from assistant.wyoming.info import asr_languages, build_info, voice_name, wake_words
from assistant.wyoming.protocol import MAX_HEADER_BYTES, Limits, ProtocolError, RequestError, read_event
from assistant.wyoming.wake import WakeStream

log = logging.getLogger("assistant.wyoming")
LINGER_S = 5.0  # after a final error, how long unread input is drained before closing
LINGER_BYTES = 16 * 1024 * 1024  # and how much of it


@dataclass
class Services:
    """What every connection shares: the pipeline (and through it the runtime's models) and the map of
    Home Assistant's conversation ids."""

    pipeline: Pipeline
    conversations: handle.ConversationMap = field(default_factory=handle.ConversationMap)

    def __post_init__(self) -> None:
        settings = self.pipeline.settings
        self.settings = settings
        self.info_event = build_info(settings).event()
        self.languages = asr_languages(settings)
        self.voice = voice_name(settings)
        self.wake_names = [word.name for word in wake_words(settings)]

    def synthesizer(self):  # type: ignore[no-untyped-def]
        try:
            return self.pipeline.runtime.synthesizer()
        except Exception as exc:  # a voice that cannot load: say which, keep serving the rest
            raise RequestError(f"Speech output is unavailable: {exc}", "model-unavailable") from None

    def recognizer(self):  # type: ignore[no-untyped-def]
        try:
            return self.pipeline.runtime.recognizer()
        except Exception as exc:
            raise RequestError(f"Speech recognition is unavailable: {exc}", "model-unavailable") from None


class Connection:
    """One client. Holds at most one request in progress: a transcription, a wake-word stream or a
    streamed synthesis."""

    def __init__(
        self, services: Services, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.reader, self.writer = reader, writer
        self.audio: asr.AudioCollector | None = None
        self.wake: WakeStream | None = None
        self.text_stream: tts.TextStream | None = None

    async def run(self) -> None:
        timeout = self.settings.wyoming.idle_timeout_s
        try:
            while True:
                try:
                    event = await asyncio.wait_for(read_event(self.reader, Limits()), timeout)
                except TimeoutError:
                    await self.end_with(
                        Error(text=f"Closed after {timeout:g} s without a request.", code="idle")
                    )
                    return
                except ProtocolError as exc:
                    await self.end_with(Error(text=str(exc), code="protocol"))
                    return
                if event is None:
                    return
                try:
                    await self.dispatch(event)
                except RequestError as exc:
                    await self.end_with(Error(text=str(exc), code=exc.code))
                    return
                except Exception as exc:  # a bug or a model failing: this request ends, the server stays up
                    log.exception("Wyoming %s request failed", event.type)
                    await self.end_with(
                        Error(text=f"Internal error: {type(exc).__name__}: {exc}"[:500], code="internal")
                    )
                    return
        except (ConnectionError, OSError):
            return  # the client went away mid-answer

    async def end_with(self, error: Error) -> None:
        """Send the error, then read and drop what the client is still sending (briefly, boundedly): closing
        with unread bytes would reset the connection and could lose the error before the client reads it."""
        await self.send(error.event())
        with contextlib.suppress(Exception):
            if self.writer.can_write_eof():
                self.writer.write_eof()
            await asyncio.wait_for(self._discard(), LINGER_S)

    async def _discard(self) -> None:
        dropped = 0
        while dropped < LINGER_BYTES and (data := await self.reader.read(65536)):
            dropped += len(data)

    async def send(self, event: Event) -> None:
        await async_write_event(event, self.writer)

    async def send_all(self, events: list[Event]) -> None:
        for event in events:
            await self.send(event)

    # --- dispatch ---------------------------------------------------------------------------------------

    async def dispatch(self, event: Event) -> None:
        kind = event.type
        if Describe.is_type(kind):
            await self.send(self.services.info_event)
        elif Ping.is_type(kind):
            await self.send(
                Pong(text=event.data.get("text") if isinstance(event.data.get("text"), str) else None).event()
            )
        elif Transcribe.is_type(kind):
            asr.check_language(event.data.get("language"), self.services.languages)
            self._reset()
            self.audio = asr.AudioCollector.for_settings(self.settings)
        elif Detect.is_type(kind):
            self._reset()
            self.wake = WakeStream.open(event.data.get("names"), self.services.wake_names, self.settings.wake)
        elif AudioStart.is_type(kind):
            await self._audio_start(event)
        elif AudioChunk.is_type(kind):
            await self._audio_chunk(event)
        elif AudioStop.is_type(kind):
            await self._audio_stop()
        elif Synthesize.is_type(kind):
            if self.text_stream is None:  # inside a stream it only repeats the text (for older servers)
                await self._synthesize(event)
        elif SynthesizeStart.is_type(kind):
            tts.check_voice(event.data.get("voice"), self.services.voice)
            synth = await asyncio.to_thread(self.services.synthesizer)
            self._reset()
            self.text_stream = tts.TextStream(synth, self.settings.wyoming.max_text_chars)
        elif SynthesizeChunk.is_type(kind):
            await self._synthesize_chunk(event)
        elif SynthesizeStop.is_type(kind):
            await self._synthesize_stop()
        elif Transcript.is_type(kind):
            await self._handle(event)
        # anything else (select-program, events of services we do not offer) is dropped, as the spec asks

    def _reset(self) -> None:
        self.audio, self.wake, self.text_stream = None, None, None

    async def _audio_start(self, event: Event) -> None:
        data = event.data
        if self.wake is not None:
            self.wake.start(data.get("rate"), data.get("width"), data.get("channels"))
            return
        if self.audio is None:  # audio without `transcribe` or `detect` is for the recognizer
            self.audio = asr.AudioCollector.for_settings(self.settings)
        self.audio.start(data.get("rate"), data.get("width"), data.get("channels"))

    async def _audio_chunk(self, event: Event) -> None:
        data, pcm = event.data, event.payload or b""
        if self.wake is not None:
            found = self.wake.feed(
                data.get("rate"), data.get("width"), data.get("channels"), pcm, data.get("timestamp")
            )
            if found is not None:
                await self.send(found)
            return
        if self.audio is None:
            self.audio = asr.AudioCollector.for_settings(self.settings)
        self.audio.add(data.get("rate"), data.get("width"), data.get("channels"), pcm)

    async def _audio_stop(self) -> None:
        if self.wake is not None:
            answer = self.wake.stop()
            self.wake = None
            if answer is not None:
                await self.send(answer)
            return
        collected = self.audio or asr.AudioCollector.for_settings(self.settings)
        self.audio = None
        samples, rate = collected.samples()

        def work() -> str:
            return asr.transcribe(self.settings, self.services.recognizer(), samples, rate)

        text = await asyncio.to_thread(work)
        await self.send(Transcript(text=text, language=self.services.languages[0]).event())

    async def _synthesize(self, event: Event) -> None:
        tts.check_voice(event.data.get("voice"), self.services.voice)
        text = tts.check_text(event.data.get("text"), self.settings.wyoming.max_text_chars)
        synth = await asyncio.to_thread(self.services.synthesizer)
        sentences = tts.sentences(synth, text)
        started = False
        while (sentence := await asyncio.to_thread(next, sentences, None)) is not None:
            samples, rate = sentence
            if not started:
                await self.send(tts.start_event(rate))
                started = True
            await self.send_all(tts.audio_events(samples, rate))
        if not started:
            raise RequestError("Nothing to say: the text is empty.", "bad-text")
        await self.send(tts.stop_event())

    async def _synthesize_chunk(self, event: Event) -> None:
        if self.text_stream is None:
            raise RequestError("synthesize-chunk came without synthesize-start.", "bad-request")
        text = tts.check_text(event.data.get("text"), self.settings.wyoming.max_text_chars)
        await self.send_all(await asyncio.to_thread(self.text_stream.feed, text))

    async def _synthesize_stop(self) -> None:
        stream, self.text_stream = self.text_stream, None
        if stream is None:
            raise RequestError("synthesize-stop came without synthesize-start.", "bad-request")
        events = await asyncio.to_thread(stream.feed, "", True)
        if stream.started:
            events.append(tts.stop_event())
        await self.send_all([*events, SynthesizeStopped().event()])

    async def _handle(self, event: Event) -> None:
        request = handle.parse(event)
        wyoming = self.settings.wyoming

        def work() -> Event:
            return handle.answer(
                self.services.pipeline,
                self.services.conversations,
                wyoming.user or self.settings.owner,
                request,
                wyoming.max_text_chars,
            )

        try:
            reply = await asyncio.to_thread(work)
        except Exception as exc:  # Home Assistant waits for handled / not-handled, never an error event
            log.exception("Wyoming turn failed")
            reply = NotHandled(text=f"Sorry, something went wrong ({type(exc).__name__}).").event()
        await self.send(reply)


class WyomingServer:
    """Serves until `close()`; `start()` returns once it listens (tests run it in-process)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.services = Services(pipeline)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self, binding: Binding) -> None:
        if binding.scheme == "unix":
            self._server = await asyncio.start_unix_server(self._accept, binding.path, limit=MAX_HEADER_BYTES)
        else:
            self._server = await asyncio.start_server(
                self._accept, binding.host, binding.port, limit=MAX_HEADER_BYTES
            )

    @property
    def port(self) -> int:
        """The TCP port it listens on (the one the OS chose for port 0)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            if len(self._tasks) >= self.services.settings.wyoming.max_connections:
                with contextlib.suppress(ConnectionError, OSError):
                    busy = f"Busy: {len(self._tasks)} clients connected (setting wyoming.max_connections)."
                    await async_write_event(Error(text=busy, code="busy").event(), writer)
                return
            self._tasks.add(task)
            await Connection(self.services, reader, writer).run()
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class BackgroundServer:
    """A WyomingServer on its own event loop in a daemon thread, beside another front end in the same
    process (`assistant serve` with wyoming.enabled): it shares that front end's pipeline and models."""

    def __init__(self, pipeline: Pipeline, binding: Binding) -> None:
        import threading

        self.binding = binding
        self.loop = asyncio.new_event_loop()
        self.server = WyomingServer(pipeline)
        self._thread = threading.Thread(target=self.loop.run_forever, name="wyoming", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(binding), self.loop).result(timeout=30)
        except BaseException:
            self.loop.call_soon_threadsafe(self.loop.stop)
            raise

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
