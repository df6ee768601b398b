"""`assistant serve`: the web app, on 127.0.0.1:7860 by default.

Security rules: localhost needs no login; any other interface, or a public share link, requires the
username and password from settings (auth.username / auth.password) unless the operator explicitly
passes --insecure-no-auth (or sets auth.disable); an exposed server's password must be long (a strong
one is generated and suggested). Accounts made with `assistant users add` also sign in (and, once one
exists, signing in is required even on localhost); without any, localhost tabs act for `settings.owner`. Configured credentials are always enforced; failed sign-ins are
throttled per client and per account (`ui.guard`). The OpenAI-compatible API at /v1 (`ui.openai_api`)
takes a bearer token, auth.api_token or else the password, required on any exposed server (`ui.api_auth`).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Annotated

import typer

from assistant.config import Settings
from assistant.net import is_loopback

WORKER_START_S = 300.0  # how long `web.workers` processes may take to load their models
AUTH_HINT = (
    "Add an account with `assistant users add NAME`, or set a username and password, e.g. `export ASSISTANT_AUTH__USERNAME=me ASSISTANT_AUTH__PASSWORD=...` "
    "or the auth section of assistant.toml, or serve on 127.0.0.1 (the default)."
)


class ServeError(ValueError):
    """The requested way of serving is unsafe or impossible; the message says how to fix it."""


@dataclass(frozen=True)
class ServePlan:
    host: str
    port: int
    share: bool
    auth: tuple[str, str] | None
    warnings: tuple[str, ...] = ()
    accounts: int = 0  # accounts in the database (`assistant users`): any means the page asks to sign in

    @property
    def login(self) -> bool:
        return self.auth is not None or self.accounts > 0


def plan(
    settings: Settings, host: str, port: int, share: bool, insecure_no_auth: bool, accounts: int = 0
) -> ServePlan:
    """Decide how to serve, refusing an exposed server without auth unless explicitly allowed. `accounts`:
    how many `assistant users` accounts the database holds (they are a login too)."""
    username = settings.auth.username
    password = settings.auth.password.get_secret_value() if settings.auth.password else None
    if bool(username) != bool(password):
        raise ServeError("Auth needs both auth.username and auth.password; only one is set. " + AUTH_HINT)
    auth = (username, password) if username and password else None
    exposed = share or not is_loopback(host)
    warnings: list[str] = []
    if exposed and auth is None and accounts == 0:
        where = "a public share link" if share else f"{host} (reachable from other machines)"
        if not (insecure_no_auth or settings.auth.disable):
            raise ServeError(f"Refusing to serve on {where} without a login. " + AUTH_HINT)
        warnings.append(
            f"Serving on {where} WITHOUT a login: anyone who can reach it can use the assistant "
            "and read and erase stored conversations."
        )
    if exposed and password is not None and len(password) < settings.auth.min_password_chars:
        raise ServeError(
            f"The password is too short to expose the server ({len(password)} characters; at least "
            f"{settings.auth.min_password_chars}, setting auth.min_password_chars). Here is a strong one, "
            f"generated just now: {secrets.token_urlsafe(18)}"
        )
    token = settings.auth.api_token.get_secret_value() if settings.auth.api_token else None
    if exposed and token is not None and len(token) < settings.auth.min_password_chars:
        raise ServeError(
            f"auth.api_token is too short to expose the server ({len(token)} characters; at least "
            f"{settings.auth.min_password_chars}). Here is a strong one: {secrets.token_urlsafe(24)}"
        )
    if exposed and token is None and password is None and accounts == 0:
        warnings.append(
            "The OpenAI-compatible API at /v1 answers 401 to every call: reachable from other machines "
            "it needs a token (auth.api_token or auth.password)."
        )
    if share:
        warnings.append("A share link needs internet access; offline it will fail to open.")
    return ServePlan(
        host=host, port=port, share=share, auth=auth, warnings=tuple(warnings), accounts=accounts
    )


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default 127.0.0.1, from settings.host).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860, from settings.port).")] = None,
    share: Annotated[
        bool | None,
        typer.Option(
            "--share/--no-share", help="Also open a public gradio.live link (needs internet and auth)."
        ),
    ] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Allow serving on a non-localhost interface or share link WITHOUT a login. Anyone who can "
            "reach the port can use the assistant and read or erase stored conversations.",
        ),
    ] = False,
    warm_up: Annotated[
        bool, typer.Option("--warm-up/--no-warm-up", help="Load the default models before serving.")
    ] = True,
) -> None:
    """Start the web app (default http://127.0.0.1:7860)."""
    from assistant.cli_state import settings_from
    from assistant.console import err_console, fail

    settings = settings_from(ctx, {"host": host, "port": port, "share": share})
    try:
        from assistant.accounts import open_accounts

        accounts = open_accounts(settings).count()
        serve_plan = plan(settings, settings.host, settings.port, settings.share, insecure_no_auth, accounts)
    except Exception as exc:  # ServeError, or the database cannot be opened: a sentence, no traceback
        fail(str(exc))
        return
    for warning in serve_plan.warnings:
        err_console.print(f"[bold yellow]Warning:[/] {warning}")
    from assistant.config import web_processes

    count = web_processes(settings)
    if count > 1 and serve_plan.share:
        err_console.print(
            "[bold yellow]Warning:[/] a share link reaches one process: web.workers is ignored."
        )
        count = 1
    ports = [serve_plan.port + i for i in range(count)]
    taken = [p for p in ports if not port_free(serve_plan.host, p)]
    if taken:
        more = " (web.workers uses the ports after it)" if len(ports) > 1 else ""
        fail(f"Port {taken[0]} on {serve_plan.host} is in use{more}. Pick another with --port.")
        return
    run_server(settings, serve_plan, insecure_no_auth, warm_up, worker_ports=ports[1:])


def run_server(
    settings: Settings,
    serve_plan: ServePlan,
    insecure_no_auth: bool,
    warm_up: bool,
    worker_ports: list[int] | None = None,
    quiet: bool = False,
) -> None:
    """Load the pipeline and serve the web app until interrupted; with `worker_ports`, start a web worker
    process on each (`ui.workers`) and spread page loads over them. Problems are one sentence, no traceback."""
    from assistant.console import err_console, fail, status

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.pipeline import Pipeline
    from ui.app import build_app, launch
    from ui.workers import WorkerPool

    wyoming = pool = None
    try:
        if worker_ports:  # they load their models while this process loads its own
            pool = WorkerPool.start(settings, serve_plan.host, worker_ports, insecure_no_auth)
        pipeline = Pipeline(settings)
        if warm_up:
            with status("Loading the default models"):
                pipeline.runtime.warm_up()
        demo = build_app(pipeline, settings)
        from assistant.wyoming.cli import start_beside

        wyoming = start_beside(pipeline, insecure_no_auth)  # None unless wyoming.enabled
        if pool is not None:
            with status(f"Waiting for {len(pool.ports)} more web process(es)"):
                pool.wait_until_up(serve_plan.host, WORKER_START_S)
            stop_on_sigterm()  # so the `finally` below stops the workers
    except Exception as exc:  # a model or the database cannot load: say which, no traceback
        if pool is not None:
            pool.close()
        fail(f"Cannot start the web app: {exc}")
        return
    host = serve_plan.host if ":" not in serve_plan.host else f"[{serve_plan.host}]"
    where = f"http://{host}:{serve_plan.port}"
    if not quiet:
        err_console.print(f"Serving on [bold]{where}[/] {'(login required)' if serve_plan.login else ''}")
        err_console.print(f"OpenAI-compatible API: [bold]{where}/v1[/] (see README, 'OpenAI-compatible API')")
        if pool is not None:
            ports = ", ".join(str(p) for p in pool.ports)
            err_console.print(
                f"{len(pool.ports) + 1} web processes: page loads are spread to ports {ports} too"
            )
    try:
        launch(
            demo,
            settings,
            serve_plan.host,
            serve_plan.port,
            auth=serve_plan.auth,
            share=serve_plan.share,
            pipeline=pipeline,
            quiet=quiet,
            workers=pool,
        )
    except KeyboardInterrupt:
        pass
    finally:
        if pool is not None:
            pool.close()
        if wyoming is not None:
            wyoming.close()
        pipeline.runtime.close()


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager's stop) ends the server as Ctrl-C does, running its clean-up."""
    import signal
    import threading

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
