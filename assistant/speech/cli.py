"""Speech commands: `assistant transcribe`, `assistant say`, `assistant talk`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli_state import settings_from
from assistant.console import console, err_console, fail, status


def _load_recognizer(settings):
    from assistant.offline import ModelNotAvailableError
    from assistant.speech.asr import load_recognizer
    from nlu.plugins import UnknownBackendError

    try:
        with status(f"Loading speech recognition ({settings.asr.backend}, {settings.asr.model})…"):
            return load_recognizer(settings)
    except (ModelNotAvailableError, UnknownBackendError, RuntimeError) as exc:
        fail(str(exc))


def _load_synthesizer(settings):
    from assistant.offline import ModelNotAvailableError
    from assistant.speech.tts import load_synthesizer
    from nlu.plugins import UnknownBackendError

    try:
        with status(f"Loading speech synthesis ({settings.tts.backend})…"):
            return load_synthesizer(settings)
    except (ModelNotAvailableError, UnknownBackendError, RuntimeError) as exc:
        fail(str(exc))


def transcribe(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Audio files: WAV, FLAC, OGG, MP3, WebM/Opus, ...")],
    backend: Annotated[str | None, typer.Option(help="faster-whisper (default) or whisper.")] = None,
    model: Annotated[
        str | None, typer.Option(help="tiny.en (offline default), base (offline), a size or a path.")
    ] = None,
    beam_size: Annotated[int | None, typer.Option(help="1 = greedy (fastest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")] = False,
) -> None:
    """Transcribe audio files; with --json one {"file","text","confidence","seconds","rtf"} per line."""
    from assistant.audio import AudioError, load_audio

    settings = settings_from(ctx, {"asr": {"backend": backend, "model": model, "beam_size": beam_size}})
    recognizer = _load_recognizer(settings)
    failures = 0
    for path in files:
        start = time.perf_counter()
        try:
            transcript = recognizer.transcribe(load_audio(path, settings.audio))
        except AudioError as exc:
            failures += 1
            if as_json:
                print(json.dumps({"file": str(path), "error": str(exc)}), flush=True)
            else:
                err_console.print(f"[bold red]Error:[/] {exc}")
            continue
        elapsed = time.perf_counter() - start
        seconds = transcript.audio_seconds
        record = {
            "file": str(path),
            "text": transcript.text,
            "confidence": round(transcript.confidence, 4),
            "seconds": round(seconds, 3),
            "rtf": round(elapsed / seconds, 4) if seconds else None,
        }
        if as_json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            console.print(
                f"[cyan]{path}[/] [dim]({seconds:.1f} s, confidence {transcript.confidence:.2f}, "
                f"RTF {record['rtf']})[/]"
            )
            console.print(f"  {transcript.text}", markup=False, highlight=False)
    if failures:
        raise typer.Exit(1)


def say(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What to say.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="WAV file to write; omit to play it.")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="piper (default), espeak or coqui.")] = None,
    voice: Annotated[
        str | None, typer.Option(help="Piper .onnx voice path, espeak voice or Coqui model.")
    ] = None,
    deterministic: Annotated[
        bool | None, typer.Option("--deterministic/--natural", help="Noise scales 0: same text, same audio.")
    ] = None,
) -> None:
    """Speak text into a WAV file (or on the speakers)."""
    from assistant.audio import write_wav
    from assistant.speech.tts import SynthesisError, synthesize

    settings = settings_from(
        ctx, {"tts": {"backend": backend, "voice": voice, "deterministic": deterministic}}
    )
    synth = _load_synthesizer(settings)
    start = time.perf_counter()
    try:
        samples = synthesize(synth, text)
    except SynthesisError as exc:
        fail(str(exc))
        return
    elapsed = time.perf_counter() - start
    seconds = len(samples) / synth.sample_rate
    if output is None:
        from assistant.speech.talk import SoundDevicePlayer, SoundDeviceUnavailable, check_output_device
        from assistant.speech.types import AudioChunk

        try:
            check_output_device()
            player = SoundDevicePlayer()
            player.play(iter([AudioChunk(samples, synth.sample_rate, text, 0, True)]))
            player.wait()
        except SoundDeviceUnavailable as exc:
            fail(str(exc))
        return
    write_wav(output, samples, synth.sample_rate)
    err_console.print(f"Wrote {output} ({seconds:.2f} s at {synth.sample_rate} Hz, made in {elapsed:.2f} s).")


def talk(
    ctx: typer.Context,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="Use this recording instead of the microphone.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Write what would be played into this WAV instead of playing it."),
    ] = None,
    asr_backend: Annotated[str | None, typer.Option("--asr", help="Recognition backend.")] = None,
    tts_backend: Annotated[str | None, typer.Option("--tts", help="Synthesis backend.")] = None,
    end_silence_ms: Annotated[
        int | None, typer.Option(help="Silence that ends an utterance (default: audio.end_silence_ms).")
    ] = None,
    wake: Annotated[
        bool | None,
        typer.Option("--wake/--no-wake", help="Wait for the wake word (default: wake.enabled)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per event on stdout (wake, heard, the turn's).")
    ] = False,
) -> None:
    """Hands-free: say the wake word ("Alexa") and a request, hear the reply, follow up within a few seconds
    without the wake word. Say "stop" or the wake word to cut a reply short (barge-in; the wake word then
    takes a new request); Ctrl+C to quit. With --input and --output, replies play on the file's clock."""
    import threading

    from assistant.audio import AudioError, load_audio, write_wav
    from assistant.offline import ModelNotAvailableError
    from assistant.speech.talk import (
        TALK_STYLE,
        SoundDevicePlayer,
        SoundDeviceUnavailable,
        TalkEvent,
        TalkSession,
        TimelinePlayer,
        check_input_device,
        check_output_device,
        earcon,
        run_on_microphone,
        run_on_recording,
        talk_event_record,
    )
    from assistant.speech.wake import wake_gate
    from nlu.plugins import UnknownBackendError

    settings = settings_from(
        ctx,
        {
            "asr": {"backend": asr_backend},
            "tts": {"backend": tts_backend},
            "wake": {"enabled": wake},
            **({"audio": {"end_silence_ms": end_silence_ms}} if end_silence_ms else {}),
        },
    )
    try:  # before the big models load, so a wrong wake-word model is reported at once
        gate = wake_gate(settings.wake)
    except (ModelNotAvailableError, UnknownBackendError) as exc:
        fail(str(exc))
    audio = None
    if input_file is not None:
        try:
            audio = load_audio(input_file, settings.audio)
        except AudioError as exc:
            fail(str(exc))
    try:  # before the models load, so a missing sound card is reported at once
        if audio is None:
            check_input_device()
        if output is None:
            check_output_device()
    except SoundDeviceUnavailable as exc:
        fail(str(exc))
    recognizer = _load_recognizer(settings)
    synth = _load_synthesizer(settings)

    def show(event: TalkEvent) -> None:
        if as_json:
            if event.kind != "reply":  # the turn's own text and audio events carry the reply
                print(json.dumps(talk_event_record(event), ensure_ascii=False), flush=True)
            return
        style, label = TALK_STYLE[event.kind]
        console.print(f"[{style}]{event.at:7.2f}s {label}:[/] {event.text}", highlight=False)

    player = TimelinePlayer() if output is not None else SoundDevicePlayer()
    live_player = player if output is None else None
    respond, pipeline = _responder(settings, synth, live_player, as_json)
    from assistant.listening import Listening

    listener = Listening(pipeline.runtime).endpointer()
    chime = earcon(synth.sample_rate) if gate is not None and settings.wake.earcon else None
    session = TalkSession(recognizer, respond, player, listener, on_event=show, gate=gate, chime=chime)

    if audio is not None:
        run_on_recording(session, audio)
        if isinstance(player, SoundDevicePlayer):
            player.wait()
    else:
        stop = threading.Event()
        waiting = f"say {gate.detector.phrase!r}, then your request; " if gate is not None else ""
        err_console.print(f"[bold]Listening[/] ({waiting}Ctrl+C to quit)…")
        try:
            run_on_microphone(session, stop)
        except SoundDeviceUnavailable as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            stop.set()
            player.stop(0.0)
    if isinstance(player, TimelinePlayer) and output is not None:
        track, rate = player.render(min_seconds=0.0 if audio is None else len(audio) / 16000)
        write_wav(output, track, rate)
        err_console.print(
            f"Wrote {output} ({len(track) / rate:.2f} s, replies at the times they would play)."
        )


def _responder(settings, synth, player=None, as_json: bool = False):  # type: ignore[no-untyped-def]
    """Answer through the whole assistant: NLU, skills or generator, then the reply's audio;
    returns (respond, the pipeline).

    With a live speaker (`player`), timers and reminders that fire are spoken too. With `as_json` every
    event of the turn is printed as one JSON object (audio as its duration, see `event_to_dict`).
    """
    from assistant.events import (
        AudioEvent,
        ErrorEvent,
        NoticeEvent,
        TextEvent,
        TurnDoneEvent,
        TurnRequest,
        event_to_dict,
    )
    from assistant.pipeline import Pipeline

    pipeline = Pipeline(settings)
    with status("Loading the assistant..."):
        pipeline.runtime.warm_up(speech=False)
    user = settings.owner  # the same user as `chat`, the web app and the API on this machine
    conversation: dict[str, int | None] = {"id": None}
    if player is not None:
        me = pipeline.memory.user(user)

        def speak_alert(_user_id: int, message: str) -> None:
            console.print(f"[bold yellow]⏰ {message}[/]")
            player.play(synth.stream(message))

        pipeline.runtime.on_notification(speak_alert, user_id=me.id)

    def respond(text: str, cancel=None):  # type: ignore[no-untyped-def]
        request = TurnRequest(
            user=user, text=text, conversation_id=conversation["id"], speak=True, cancel=cancel
        )
        reply: list[str] = []
        for event in pipeline.run(request):
            if as_json:
                print(json.dumps(event_to_dict(event), ensure_ascii=False, default=str), flush=True)
            if isinstance(event, AudioEvent):
                yield event.chunk
            elif isinstance(event, TextEvent):
                reply.append(event.text)
            elif isinstance(event, NoticeEvent) and not as_json:
                err_console.print(f"[yellow]{event.message}[/]")
            elif isinstance(event, ErrorEvent):
                if not as_json:
                    err_console.print(f"[red]{event.message}[/]")
                yield from synth.stream(event.message)
            elif isinstance(event, TurnDoneEvent):
                conversation["id"] = event.conversation_id

    return respond, pipeline
