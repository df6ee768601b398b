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
from assistant.speech.wake import WakeGate
from assistant.text import understood_text


class Listening:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def hear_ahead(self, audio: np.ndarray) -> HeardAhead[Transcript]:
        """Start transcribing 16 kHz samples in the background (at a pause in speech, see
        `assistant.speech.ahead`); pass the handle as `TurnRequest.heard_ahead` with the final audio.

        It runs on the process's shared hear-ahead pool; when that is full the handle comes back cancelled
        (nothing runs, the turn transcribes at the end). The recogniser is looked up on the worker, so a
        first load never holds up the caller (the web page's cheap per-tick handler)."""
        from assistant.audio import to_speech_samples

        runtime, settings = self.runtime, self.runtime.settings

        def transcribe(samples: np.ndarray) -> Transcript:
            return runtime.recognizer().transcribe(to_speech_samples(samples, 16_000, settings.audio))

        return HeardAhead(audio, transcribe)

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

    def wake_gate(self) -> WakeGate | None:
        """Hands-free waits for the wake word through this gate (one per audio stream; see
        `assistant.speech.wake`), or None when `settings.wake.enabled` is off: every utterance is heard."""
        from assistant.speech.wake import wake_gate

        return wake_gate(self.runtime.settings.wake)

    def endpointer(self, hear_ahead: bool = True, early_end: bool = True) -> Endpointer:
        """End-of-speech detection for one audio stream, set up from `settings.audio`. With early ends, the
        end-of-turn model (`audio.turn_model`) is asked at each pause; when pipecat-ai is not installed,
        that is logged and the words alone decide."""
        import logging

        from assistant.offline import ModelNotAvailableError
        from assistant.speech.turn import ask_turn_model, model_path
        from assistant.speech.vad import EndOfSpeechDetector

        audio = self.runtime.settings.audio
        detector = EndOfSpeechDetector(end_silence_ms=audio.end_silence_ms, max_seconds=audio.max_seconds)
        turn_model = ask_turn_model if early_end and audio.turn_model else None
        if turn_model is not None:
            try:
                model_path()
            except ModelNotAvailableError as exc:
                logging.getLogger(__name__).warning("%s Listening goes on without it.", exc)
                turn_model = None
        return Endpointer(
            detector,
            self.hear_ahead if hear_ahead else None,
            self.sounds_complete if early_end else None,
            audio.early_end_ms,
            turn_model,
            audio.turn_threshold,
            audio.turn_end_ms,
        )
