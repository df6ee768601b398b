"""`assistant chat`: a text REPL over the pipeline, or one turn as JSON lines with --once --json."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from assistant.cli_state import settings_from
from assistant.console import console, err_console, fail, status

HELP = """[bold]Commands[/]: /nlu NAME (switch intent model; /nlu alone lists them), /history (this conversation),
/new (start a new conversation), /forget (erase everything about you), /help, /quit"""


def chat(
    ctx: typer.Context,
    once: Annotated[str | None, typer.Option("--once", help="Answer one message and exit.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --once: print the turn's events as JSON lines.")
    ] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Who is talking (default: the owner setting, your login name)."),
    ] = None,
    conversation: Annotated[
        int | None, typer.Option("--conversation", help="Resume this conversation id.")
    ] = None,
    nlu: Annotated[str | None, typer.Option("--nlu", help="Intent model name or folder.")] = None,
    generator: Annotated[str | None, typer.Option("--generator", help="Generator backend.")] = None,
) -> None:
    """Text chat in the terminal, with intent, confidence and timings under each reply."""
    from assistant.events import TurnRequest
    from assistant.memory import DatabaseError
    from assistant.pipeline import Pipeline

    settings = settings_from(ctx, {"nlu": {"model": nlu}, "generator": {"backend": generator}})
    user = user or settings.owner
    try:
        pipeline = Pipeline(settings)
    except DatabaseError as exc:
        fail(str(exc))
        return
    if once is not None:
        request = TurnRequest(user=user, text=once, conversation_id=conversation)
        code = _print_json(pipeline, request) if as_json else _print_turn(pipeline, request)
        raise typer.Exit(code)

    with status("Loading models..."):
        try:
            pipeline.runtime.warm_up(speech=False)
        except Exception as exc:
            fail(f"Could not load the models: {exc}")
    pipeline.runtime.on_notification(lambda _uid, message: console.print(f"\n[bold yellow]⏰ {message}[/]"))
    me = pipeline.memory.user(user)
    conv_id = pipeline.memory.resume_conversation(me.id, conversation).id if conversation else None
    nlu_name: str | None = None
    console.print(f"[bold]Hi {user}![/] Type a message. {HELP}")
    while True:
        try:
            line = console.input("[bold cyan]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        command, _, arg = line.strip().partition(" ")
        if command in ("/quit", "/exit"):
            break
        if command == "/help":
            console.print(HELP)
        elif command == "/nlu":
            if arg:
                nlu_name = arg.strip()
                pipeline.runtime.trust_nlu_folder(
                    nlu_name
                )  # the operator at the terminal may name any folder
                console.print(f"NLU model: [bold]{nlu_name}[/] from the next message.")
            else:
                console.print("NLU models: " + ", ".join(pipeline.runtime.nlu_names()))
        elif command == "/history":
            if conv_id is None:
                console.print("[dim]Nothing yet in this conversation.[/]")
            for turn in pipeline.memory.recent_turns(me.id, conv_id, 50) if conv_id else []:
                console.print(f"[cyan]you[/] {turn.user_text}\n[green]assistant[/] {turn.reply_text}")
        elif command == "/new":
            conv_id = pipeline.memory.start_conversation(me.id).id
            console.print(f"New conversation #{conv_id}.")
        elif command == "/forget":
            if console.input("Erase all your conversations, facts, lists and timers? [y/N] ").lower() == "y":
                pipeline.memory.forget_user(me.id)
                me = pipeline.memory.user(user)
                conv_id = None
                console.print("Done. I no longer know anything about you.")
        elif line.strip():
            request = TurnRequest(user=user, text=line, conversation_id=conv_id, nlu_override=nlu_name)
            conv_id = _print_turn(pipeline, request, return_conversation=True) or conv_id
    pipeline.runtime.close()


def _print_json(pipeline, request) -> int:  # type: ignore[no-untyped-def]
    from assistant.events import ErrorEvent, event_to_dict

    code = 0
    for event in pipeline.run(request):
        if isinstance(event, ErrorEvent):
            code = 1
        print(json.dumps(event_to_dict(event), default=str, ensure_ascii=False), flush=True)
    return code


def _print_turn(pipeline, request, return_conversation: bool = False):  # type: ignore[no-untyped-def]
    """Stream one turn to the terminal; returns the conversation id (REPL) or an exit code (--once)."""
    from assistant.events import ErrorEvent, IntentEvent, NoticeEvent, TextEvent, TurnDoneEvent

    started = False
    done: TurnDoneEvent | None = None
    meta = ""
    error = False
    for event in pipeline.run(request):
        if isinstance(event, IntentEvent):
            meta = f"{event.intent.label} {event.intent.confidence:.2f} → {event.routed_to}"
        elif isinstance(event, TextEvent):
            if not started:
                console.print("[bold green]assistant>[/] ", end="")
                started = True
            console.print(event.text, end="", markup=False, highlight=False)
        elif isinstance(event, NoticeEvent):
            err_console.print(f"[yellow]{event.message}[/]")
        elif isinstance(event, ErrorEvent):
            err_console.print(f"[red]{event.message}[/]")
            error = True
        elif isinstance(event, TurnDoneEvent):
            done = event
    if started:
        console.print()
    if done is not None:
        stages = ", ".join(f"{k} {v:.0f}ms" for k, v in done.timings_ms.items() if k != "total")
        console.print(f"[dim]  {meta} | {stages} | total {done.timings_ms.get('total', 0):.0f}ms[/]")
    if return_conversation:
        return done.conversation_id if done else None
    return 1 if error else 0
