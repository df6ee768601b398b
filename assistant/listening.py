"""Hands-free listening for one audio stream: when speech has ended, and hearing ahead at a pause.

End-pointing asks the NLU and the dialog manager whether the words so far make a whole request, so it
sits above both; the speech CLI, the web page's microphone and `bench e2e` use it.
"""

from __future__ import annotations

import numpy as np

from assistant.runtime import Runtime
from assistant.speech.ahead import HeardAhead
from assistant.speech.endpoint import Endpointer
from assistant.speech.types import Transcript
from assistant.text import understood_text


class Listening:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def hear_ahead(self, audio: np.ndarray) -> HeardAhead[Transcript]:
        """Start transcribing 16 kHz samples in the background (at a pause in speech, see
        `assistant.speech.ahead`); pass the handle as `TurnRequest.heard_ahead` with the final audio."""
        from assistant.audio import to_speech_samples

        recognizer = self.runtime.recognizer()
        settings = self.runtime.settings
        return HeardAhead(
            audio, lambda samples: recognizer.transcribe(to_speech_samples(samples, 16_000, settings.audio))
        )

    def sounds_complete(self, text: str) -> bool:
        """Do these words make a whole request, so hands-free listening can stop early? They do when they
        do not trail off ("add milk and") and a skill claims them by rule or the default NLU model places
        them confidently."""
        from assistant.speech.endpoint import trails_off

        cleaned = understood_text(text)
        if trails_off(cleaned):
            return False
        model, intent = self.runtime.understand(cleaned)  # the turn that follows reads it again for free
        return self.runtime.manager.understands(cleaned, intent, model.threshold)

    def endpointer(self, hear_ahead: bool = True, early_end: bool = True) -> Endpointer:
        """End-of-speech detection for one audio stream, set up from `settings.audio`."""
        from assistant.speech.vad import EndOfSpeechDetector

        audio = self.runtime.settings.audio
        detector = EndOfSpeechDetector(end_silence_ms=audio.end_silence_ms, max_seconds=audio.max_seconds)
        return Endpointer(
            detector,
            self.hear_ahead if hear_ahead else None,
            self.sounds_complete if early_end else None,
            audio.early_end_ms,
        )
