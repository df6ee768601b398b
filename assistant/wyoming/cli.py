"""`assistant wyoming`: serve the assistant to Home Assistant over the Wyoming protocol."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from assistant.wyoming.binding import Binding


def wyoming(
    ctx: typer.Context,
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri", help="Where to listen: tcp://HOST:PORT or unix://PATH (default tcp://127.0.0.1:10700)."
        ),
    ] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Allow listening on a non-localhost interface. Wyoming has no login: anyone who can reach "
            "the port can use the assistant and its memory.",
        ),
    ] = False,
    warm_up: Annotated[
        bool, typer.Option("--warm-up/--no-warm-up", help="Load the default models before serving.")
    ] = True,
) -> None:
    """Serve speech recognition, the voice, wake words and the whole assistant to Home Assistant (Wyoming)."""
    from assistant.cli_state import settings_from
    from assistant.console import err_console, fail, status
    from assistant.wyoming.binding import BindError, plan

    settings = settings_from(ctx, {"wyoming": {"uri": uri}})
    try:
        serve_plan = plan(settings, settings.wyoming.uri, insecure_no_auth)
    except BindError as exc:
        fail(str(exc))
        return
    for warning in serve_plan.warnings:
        err_console.print(f"[bold yellow]Warning:[/] {warning}")

    from assistant.pipeline import Pipeline

    try:
        pipeline = Pipeline(settings)
        if warm_up:
            with status("Loading the default models"):
                pipeline.runtime.warm_up()
    except Exception as exc:  # a model or the database cannot load: say which, no traceback
        fail(f"Cannot start the Wyoming server: {exc}")
        return
    try:
        asyncio.run(_serve(pipeline, serve_plan.binding))
    except OSError as exc:  # the port is taken, the socket folder is missing
        fail(f"Cannot listen on {serve_plan.binding.where}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.runtime.close()


async def _serve(pipeline, binding: Binding) -> None:  # type: ignore[no-untyped-def]
    from assistant.console import err_console
    from assistant.wyoming.server import WyomingServer

    server = WyomingServer(pipeline)
    await server.start(binding)
    err_console.print(f"Serving Wyoming on [bold]{binding.where}[/]")
    if binding.scheme == "tcp":
        err_console.print(
            "In Home Assistant: Settings > Devices & services > Add integration > Wyoming Protocol, "
            f"host {binding.host}, port {server.port}."
        )
    try:
        await server.serve_forever()
    finally:
        await server.close()


def start_beside(pipeline, insecure_no_auth: bool = False):  # type: ignore[no-untyped-def]
    """For `assistant serve`: when wyoming.enabled, the Wyoming server in a background thread on the same
    pipeline (same rules for where it may listen); None when it is off. Raises BindError or OSError."""
    from assistant.console import err_console
    from assistant.wyoming.binding import plan
    from assistant.wyoming.server import BackgroundServer

    settings = pipeline.settings
    if not settings.wyoming.enabled:
        return None
    serve_plan = plan(settings, settings.wyoming.uri, insecure_no_auth)
    for warning in serve_plan.warnings:
        err_console.print(f"[bold yellow]Warning:[/] {warning}")
    server = BackgroundServer(pipeline, serve_plan.binding)
    err_console.print(f"Wyoming (Home Assistant): [bold]{serve_plan.binding.where}[/]")
    return server
