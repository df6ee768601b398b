"""The audio routes of the OpenAI-compatible API (`ui.openai_api`): speech in and speech out.

- `POST /v1/audio/transcriptions`: multipart with a `file` in any format `assistant.audio` decodes.
- `POST /v1/audio/speech`: JSON in, audio out (`ui.api_audio`: wav, pcm, and flac/mp3/opus/aac where an
  encoder is installed; otherwise a 400 that says so).

They share the chat routes' bearer check and model slots, so audio work counts against the same limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from assistant.config import Settings
from ui import api_audio
from ui.api_auth import Caller
from ui.api_stream import Slots
from ui.api_wire import (
    TRANSCRIPT_FORMATS,
    ApiError,
    model_unavailable,
    parse_speech,
    read_json,
    short_error,
    transcript_body,
    unknown_model,
)

MAX_FORM_FIELDS = 16
TRANSCRIBE_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
SPEECH_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPENAI_VOICES = frozenset(
    [
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
        "default",
    ]
)


class AudioRoutes:
    """`transcribe` and `speech` over one `Pipeline`; `authorize` is the API's bearer check."""

    def __init__(
        self, pipeline: Any, settings: Settings, slots: Slots, authorize: Callable[[Request], Caller]
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.slots = slots
        self.authorize = authorize

    # --- speech in -------------------------------------------------------------------------------------

    async def transcribe(self, request: Request) -> Response:
        self.authorize(request)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "multipart/form-data":
            raise ApiError(
                415,
                "Send the audio as multipart/form-data with a 'file' part (as OpenAI's clients do).",
                code="unsupported_media_type",
            )
        async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=64 * 1024) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(400, "The form needs a 'file' part with the audio.", param="file")
            model = _form_text(form, "model")
            if model is None:
                raise ApiError(400, "'model' is required, e.g. whisper-1.", param="model")
            accepted = (*TRANSCRIBE_MODELS, self.settings.asr.backend)
            if model not in accepted:
                raise unknown_model(model, list(accepted))
            response_format = (_form_text(form, "response_format") or "json").lower()
            if response_format not in TRANSCRIPT_FORMATS:
                raise ApiError(
                    400,
                    f"response_format must be one of {', '.join(TRANSCRIPT_FORMATS)}.",
                    param="response_format",
                )
            self._check_language(_form_text(form, "language"))
            data = await upload.read()
            name = (upload.filename or "audio")[:100]
        async with self.slots.held():
            transcript = await anyio.to_thread.run_sync(self._transcribe, data, name)
        body, media_type = transcript_body(transcript, response_format)
        if isinstance(body, dict):
            return JSONResponse(body)
        return PlainTextResponse(body, media_type=media_type)

    def _check_language(self, language: str | None) -> None:
        configured = self.settings.asr.language
        if language and configured and language.lower().split("-")[0] != configured.lower():
            raise ApiError(
                400,
                f"This server transcribes {configured!r} only (setting asr.language), not {language[:20]!r}.",
                param="language",
            )

    def _transcribe(self, data: bytes, name: str) -> Any:
        from assistant.audio import AudioError, load_audio

        try:
            samples = load_audio(data, self.settings.audio, name=name)
        except AudioError as exc:
            raise ApiError(400, str(exc), code="invalid_audio", param="file") from None
        try:
            recognizer = self.pipeline.runtime.recognizer()
        except Exception as exc:
            raise model_unavailable("Speech recognition", exc) from None
        try:
            return recognizer.transcribe(samples)
        except AudioError as exc:
            raise ApiError(400, str(exc), code="invalid_audio", param="file") from None

    # --- speech out ------------------------------------------------------------------------------------

    async def speech(self, request: Request) -> Response:
        self.authorize(request)
        data = read_json(await request.body(), request.headers.get("content-type"))
        speech = parse_speech(data, tuple(api_audio.FORMATS))
        accepted = (*SPEECH_MODELS, self.settings.tts.backend)
        if speech.model not in accepted:
            raise unknown_model(speech.model, list(accepted))
        backend = self._voice_backend(speech.voice)
        if speech.speed != 1.0:
            raise ApiError(
                400,
                "Only speed 1.0 is supported (the voice's pace is setting tts.length_scale).",
                param="speed",
            )
        if not api_audio.available(speech.response_format):
            raise ApiError(
                400,
                f"response_format {speech.response_format!r} needs "
                f"{api_audio.FORMATS[speech.response_format].encoder}, which is not installed here; "
                "ask for 'wav' (or 'pcm').",
                param="response_format",
                code="encoder_unavailable",
            )
        async with self.slots.held():
            audio = await anyio.to_thread.run_sync(
                self._synthesize, speech.text, backend, speech.response_format
            )
        return Response(audio, media_type=api_audio.FORMATS[speech.response_format].media_type)

    def _voice_backend(self, voice: str) -> str | None:
        from assistant.speech.tts import synthesizers

        if voice.lower() in OPENAI_VOICES:
            return None  # the configured voice
        if voice in synthesizers.names():
            return voice
        raise ApiError(
            400,
            f"Unknown voice {voice[:40]!r}; use an OpenAI voice name (alloy, …: the configured voice) or "
            f"one of {', '.join(synthesizers.names())}.",
            param="voice",
        )

    def _synthesize(self, text: str, backend: str | None, fmt: str) -> bytes:
        import numpy as np

        try:
            synth = self.pipeline.runtime.synthesizer(backend)
        except Exception as exc:
            raise model_unavailable("Speech output", exc) from None
        parts, rate = [], int(getattr(synth, "sample_rate", 22_050))
        try:
            for chunk in synth.stream(text):
                parts.append(chunk.samples)
                rate = chunk.sample_rate
        except (ValueError, RuntimeError) as exc:  # SynthesisError is a RuntimeError; bad text a ValueError
            raise ApiError(400, f"Cannot speak that text: {short_error(exc)}", param="input") from None
        if not parts:
            raise ApiError(400, "Nothing to say: the text has no words.", param="input")
        return api_audio.encode(np.concatenate(parts), rate, fmt)


def _form_text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{name}' must be a text field, not a file.", param=name)
    return value.strip() or None
