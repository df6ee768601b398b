"""Wake word: `detect{names}`, `audio-start`, `audio-chunk`... -> `detection{name, timestamp}`.

Home Assistant streams a satellite's microphone here until a wake word is heard, then hangs up; at
`audio-stop` without one we answer `not-detected`. Each stream gets its own microWakeWord detectors
(`assistant.speech.wake`; streaming state, 55-80 kB models loaded in under a millisecond), one per name
asked for (none named: the configured `wake.model`). Nothing is buffered, so a stream may run for hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from wyoming.event import Event
from wyoming.wake import Detection, NotDetected

from assistant.audio import resample
from assistant.config import WakeSettings
from assistant.offline import ModelNotAvailableError
from assistant.speech.types import SAMPLE_RATE
from assistant.speech.wake import WakeWordDetector, load_wake_detector
from assistant.wyoming.pcm import PcmError, PcmFormat, to_float
from assistant.wyoming.protocol import RequestError

MAX_NAMES = 4  # detectors per stream (each costs ~0.3% of a core)


@dataclass
class WakeStream:
    detectors: list[WakeWordDetector]
    fed_s: float = 0.0  # seconds of audio heard, the clock of a detection without a client timestamp
    detected: bool = False

    @classmethod
    def open(cls, names: object, offered: list[str], wake: WakeSettings) -> WakeStream:
        """Detectors for `names` (a list of offered model names, or None for the configured one)."""
        if names is None or names == []:
            wanted = [wake.model]
        elif isinstance(names, list) and all(isinstance(n, str) for n in names):
            wanted = list(dict.fromkeys(names))
        else:
            raise RequestError("`names` must be a list of wake word names.", "bad-request")
        unknown = [n for n in wanted if n not in offered]
        if unknown:
            raise RequestError(
                f"Unknown wake word {', '.join(map(repr, unknown))}; this server has {', '.join(offered) or 'none'}.",
                "unknown-wake-word",
            )
        if len(wanted) > MAX_NAMES:
            raise RequestError(f"At most {MAX_NAMES} wake words per stream.", "bad-request")
        try:
            detectors = [
                load_wake_detector(wake.model_copy(update={"backend": "micro", "model": n})) for n in wanted
            ]
        except ModelNotAvailableError as exc:
            raise RequestError(str(exc), "wake-unavailable") from None
        return cls(detectors)

    def start(self, rate: object, width: object, channels: object) -> None:
        _format(rate, width, channels)  # refused now rather than at the first chunk

    def feed(
        self, rate: object, width: object, channels: object, pcm: bytes, timestamp: object
    ) -> Event | None:
        """The detection this chunk completes, if any (each is reported once; the stream goes on)."""
        fmt = _format(rate, width, channels)
        try:
            samples = to_float(pcm, fmt).mean(axis=1)
        except PcmError as exc:
            raise RequestError(str(exc), "bad-audio") from None
        if fmt.rate != SAMPLE_RATE:
            samples = resample(samples, fmt.rate, SAMPLE_RATE)  # per chunk: fine for a detector
        chunk_start = self.fed_s
        self.fed_s += len(pcm) / fmt.frame_bytes / fmt.rate
        for detector in self.detectors:
            events = detector.process(np.asarray(samples, dtype=np.float32))
            if events:
                self.detected = True
                at_ms = (
                    timestamp
                    if isinstance(timestamp, int) and not isinstance(timestamp, bool)
                    else round(max(chunk_start, events[0].at_s) * 1000)
                )
                return Detection(name=detector.name, timestamp=at_ms).event()
        return None

    def stop(self) -> Event | None:
        return None if self.detected else NotDetected().event()


def _format(rate: object, width: object, channels: object) -> PcmFormat:
    try:
        return PcmFormat.checked(rate, width, channels)
    except PcmError as exc:
        raise RequestError(str(exc), "bad-audio") from None
