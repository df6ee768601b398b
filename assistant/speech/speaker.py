"""Reply text to audio while it streams in: whole sentences go to the synthesizer as soon as they end, so
the first sentence is heard while the generator is still writing the rest."""

from __future__ import annotations

import time
from collections.abc import Iterator

from assistant.cancel import CancelToken
from assistant.events import AudioEvent, Event, NoticeEvent
from assistant.speech.types import AudioChunk, Synthesizer
from assistant.timing import Stopwatch

SENTENCE_ENDS = (".", "!", "?", ":", ";")


class SentenceSpeaker:
    """Feed it text pieces (`feed`), then `feed("", final=True)`; it yields one AudioEvent per synthesised
    chunk, numbered from 0, and a NoticeEvent (then silence) if speech output fails. Once `cancel` is
    cancelled (barge-in) nothing more is synthesised, not even the rest of a sentence being spoken."""

    def __init__(self, synth: Synthesizer, watch: Stopwatch, cancel: CancelToken | None = None) -> None:
        self.synth = synth
        self.watch = watch
        self.cancel = cancel
        self.buffer = ""
        self.index = 0
        self.start = time.perf_counter()
        self.failed = False

    def feed(self, text: str, final: bool = False) -> Iterator[Event]:
        from assistant.speech.tts import split_sentences

        if self.failed or self.cancelled:
            return
        self.buffer += text
        sentences = split_sentences(self.buffer)
        if not final:
            # the last piece may be an unfinished sentence: keep it until more text or the end arrives
            if not sentences or not self.buffer.rstrip().endswith(SENTENCE_ENDS):
                if len(sentences) <= 1:
                    return
                self.buffer = sentences.pop()
            else:
                self.buffer = ""
        else:
            self.buffer = ""
        for i, sentence in enumerate(sentences):
            yield from self._speak(sentence, last=final and i == len(sentences) - 1)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def _speak(self, sentence: str, last: bool) -> Iterator[Event]:
        if self.cancelled:
            return
        chunks: Iterator[AudioChunk] | None = None
        try:
            chunks = self.synth.stream(sentence)
            for chunk in chunks:
                if self.cancelled:
                    break
                if self.index == 0:
                    yield self.watch.lap("tts_first_audio", self.start)
                yield AudioEvent(
                    AudioChunk(
                        chunk.samples, chunk.sample_rate, chunk.text, self.index, final=last and chunk.final
                    )
                )
                self.index += 1
        except Exception as exc:
            self.failed = True
            yield NoticeEvent(f"Speech output failed ({exc}); the reply is in text only.")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a streaming synthesiser stops mid-sentence
