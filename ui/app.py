"""The web app: `build_app(pipeline, settings)` returns the Gradio Blocks; `launch(...)` serves it.

Three tabs (Conversation, NLU lab, History) share one `Pipeline`, so models load once per process.
Each browser tab keeps its own `WebSession` in a `gr.State`; its user is the signed-in account, else on
localhost the owner (`settings.owner`, so a reload keeps the history), else a guest per page load.
Fonts come from the system (no web fonts), so the page makes no requests outside this server.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from assistant.accounts.doors import web_owner
from assistant.config import Settings
from ui.conversation import ConversationTab
from ui.hands_free import stop_listening
from ui.history import HistoryTab, conversation_choices
from ui.nlu_lab import NLULabTab, latest_report
from ui.render import fired_panel, state_panel
from ui.session import Inbox, WebSession, ensure_session
from ui.voice import VOICE_JS

log = logging.getLogger("assistant.ui")

TITLE = "Assistant"
QUEUE_SIZE = 256  # waiting events across all users; beyond that new requests are told the server is busy

CSS = """
.turn-meta { display: block; font-size: 0.78em; opacity: 0.75; margin-top: 0.3em; }
.muted { opacity: 0.6; }
.side-panel h4 { margin: 0.6em 0 0.2em; }
.side-panel ul, .fired-panel ul { margin: 0 0 0 1.1em; padding: 0; }
.fired-panel li.fired { font-weight: 600; }
.nlu-compare { display: flex; flex-wrap: wrap; gap: 12px; }
.nlu-model { flex: 1 1 200px; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; }
.nlu-model h4 { margin: 0 0 6px; word-break: break-all; }
.nlu-model ol { margin: 0; padding-left: 1.2em; }
.nlu-model .bar { height: 5px; background: var(--color-accent); border-radius: 3px; margin: 2px 0 6px; }
.nlu-model .conf { float: right; font-variant-numeric: tabular-nums; }
.nlu-model .error { color: var(--error-text-color, #b91c1c); }
table.turns { width: 100%; font-size: 0.9em; }
table.turns td, table.turns th { padding: 4px 6px; vertical-align: top; }
.waterfall { font-size: 0.85em; padding: 6px 4px; }
.waterfall-title { font-weight: 600; margin-bottom: 4px; }
.waterfall-rows { position: relative; }
.waterfall-row { display: flex; align-items: center; height: 22px; }
.waterfall-label { flex: 0 0 9.5em; text-align: right; padding-right: 8px; white-space: nowrap; }
.waterfall-track { position: relative; flex: 1; height: 100%; }
.waterfall-bar { position: absolute; top: 4px; height: 14px; border-radius: 2px; }
.waterfall-ms { position: absolute; top: 3px; padding-left: 4px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.waterfall-total { position: absolute; top: 0; bottom: 0; border-left: 1px dashed #334155; }
.waterfall-axis { opacity: 0.7; margin-left: 9.5em; margin-top: 2px; }
"""


def theme() -> gr.themes.Base:
    system_sans = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"]
    system_mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Soft(primary_hue="indigo", font=system_sans, font_mono=system_mono)


def stage_choices(pipeline: Any, settings: Settings) -> dict[str, list[str]]:
    """Names for the NLU, generator and voice pickers, each from its registry (the configured one first)."""

    def ordered(names: list[str], current: str) -> list[str]:
        return [current] + [n for n in names if n != current]

    from assistant.dialog.generators import generators
    from assistant.speech.tts import synthesizers

    return {
        "nlu": ordered(pipeline.runtime.nlu_names(), settings.nlu.model),
        "generator": ordered(generators.names(), settings.generator.backend),
        "voice": ordered(synthesizers.names(), settings.tts.backend),
    }


def build_app(pipeline: Any, settings: Settings) -> gr.Blocks:
    """The whole page. Registers for alarms on the pipeline (its scheduler starts with the first listener)."""
    inbox = Inbox(pipeline.memory)
    pipeline.runtime.on_notification(inbox.push)
    choices = stage_choices(pipeline, settings)
    conversation = ConversationTab(pipeline, settings, inbox, choices)
    lab = NLULabTab(pipeline, settings, choices["nlu"])
    history = HistoryTab(pipeline, settings)

    # uploaded recordings are deleted once they are an hour old (checked every ten minutes)
    delete_cache = (600, int(settings.web.upload_max_age_s))
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=delete_cache) as demo:
        # a tab's state is freed after it sits unused for session_ttl_s (and the oldest beyond max_sessions),
        # and its hands-free work stops
        session = gr.State(None, time_to_live=settings.web.session_ttl_s, delete_callback=stop_listening)
        gr.Markdown("## 🗣️ Assistant — offline voice assistant and NLU workbench")
        with gr.Tabs():
            with gr.Tab("Conversation", id="conversation"):
                conversation.build(session)
            with gr.Tab("NLU lab", id="nlu-lab"):
                lab.build()
            with gr.Tab("History", id="history"):
                history.build(session)

        def reset_conversation(fresh: WebSession) -> tuple[Any, ...]:
            return [], state_panel(None), fired_panel([]), None

        history.wire_forget(
            [
                conversation.ui.chatbot,
                conversation.ui.side_panel,
                conversation.ui.fired,
                conversation.ui.reply_audio,
            ],
            reset_conversation,
        )

        def on_load(request: gr.Request) -> tuple[Any, ...]:
            try:
                current = ensure_session(None, request, pipeline.memory, web_owner(settings))
                chat, side, fired = conversation.on_load(current)
                convs = gr.update(choices=conversation_choices(pipeline.memory, current.user_id), value=None)
            except Exception:
                log.exception("page load failed")
                gr.Warning("The database is not reachable right now; the page may not work.")
                return (
                    None,
                    [],
                    state_panel(None),
                    fired_panel([]),
                    gr.skip(),
                    *latest_report(settings.nlu.reports_dir),
                )
            return (current, chat, side, fired, convs, *latest_report(settings.nlu.reports_dir))

        demo.load(
            on_load,
            None,
            [
                session,
                conversation.ui.chatbot,
                conversation.ui.side_panel,
                conversation.ui.fired,
                history.conversations,
                lab.report,
                lab.plots,
            ],
            api_visibility="private",
        )
    quiet_queue_analytics()
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=2)
    return demo


def quiet_queue_analytics() -> None:
    """Gradio's queue re-summarises its last 10,000 events with pandas after every event, for a monitoring
    page this app does not use: a fifth of a typed turn's server time under load (`assistant bench load`:
    22.4 -> 28.5 turns/s at 10 users). Summarise rarely and keep few records, unless the user set these."""
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


def guarded_app(
    demo: gr.Blocks,
    settings: Settings,
    host: str,
    pipeline: Any = None,
    share: bool = False,
    port: int = 0,
    workers: Any = None,
) -> Any:
    """Gradio's FastAPI app with `ui.guard.RequestGuard` in front (added before it starts), and with a
    `pipeline`, the OpenAI-compatible API (`ui.openai_api`) mounted at /v1 behind the same guard. With
    `workers` (a `ui.workers.WorkerPool`), page loads are spread over this process and the workers."""
    from gradio.routes import App, ORJSONResponse

    from ui.guard import GuardPolicy, RequestGuard, allowed_hosts
    from ui.throttle import LoginThrottle, UploadQuota

    web, auth = settings.web, settings.auth
    megabyte = 1024 * 1024
    policy = GuardPolicy(
        allowed_hosts=allowed_hosts(host, web.allowed_hosts),
        max_body_bytes=int(web.max_body_mb * megabyte),
        max_upload_bytes=int(settings.audio.max_upload_mb * megabyte),
    )
    app = App(default_response_class=ORJSONResponse)
    if workers is not None:  # added first, so it runs inside the guard: a refused Host is never redirected
        from ui.workers import PageSpreader

        app.add_middleware(PageSpreader, own_port=port, worker_ports=workers.ports, alive=workers.alive)
    app.add_middleware(
        RequestGuard,
        policy=policy,
        throttle=LoginThrottle(auth.max_failures, auth.account_max_failures, auth.lockout_s),
        quota=UploadQuota(int(web.upload_quota_mb * megabyte)),
        known_events=lambda: demo.fns.keys(),
    )
    if pipeline is not None:
        from assistant.net import is_loopback
        from ui.openai_api import openai_app

        exposed = share or not is_loopback(host)
        app.mount("/v1", openai_app(pipeline, settings, exposed=exposed))
    return app


def launch(
    demo: gr.Blocks,
    settings: Settings,
    host: str,
    port: int,
    auth: tuple[str, str] | None = None,
    share: bool = False,
    block: bool = True,
    quiet: bool = False,
    pipeline: Any = None,
    workers: Any = None,
) -> Any:
    """Serve the app with the project's limits (`ui.guard`): request and upload sizes, hosts and origins,
    sign-in throttling, session capacity; no stack traces, no external links. With `pipeline`, also the
    OpenAI-compatible API at /v1, and sign-in to the accounts in its database (`ui.sign_in`) when any exist.
    Without sign-in on localhost every tab acts for `settings.owner`, so `host` must agree with settings.host
    (an exposed server never serves the owner's memory to whoever connects)."""
    from assistant.accounts import Accounts
    from assistant.accounts.doors import exposed
    from ui.sign_in import gradio_auth

    accounts = Accounts(pipeline.memory.db) if pipeline is not None else None
    sign_in = gradio_auth(auth, accounts)
    if sign_in is None and exposed(host, share) and web_owner(settings) is not None:
        raise ValueError(
            f"Serving on {host}{' with a share link' if share else ''} without sign-in, but settings.host "
            f"({settings.host}) says localhost: every tab would act for the owner. Pass matching settings."
        )
    return demo.launch(
        _app=guarded_app(demo, settings, host, pipeline, share, port, workers),
        state_session_capacity=settings.web.max_sessions,
        server_name=host,
        server_port=port,
        share=share,
        auth=sign_in,
        auth_message="Sign in to your assistant." if sign_in else None,
        show_error=False,  # unexpected errors show a plain message; gr.Error messages still show
        max_file_size=f"{settings.audio.max_upload_mb:g}mb",
        prevent_thread_lock=not block,
        quiet=quiet,
        footer_links=["settings"],
        ssr_mode=False,
        mcp_server=False,
        theme=theme(),
        css=CSS,
        head=VOICE_JS,  # the page's own recorder and sentence-by-sentence player
        allowed_paths=[],
        enable_monitoring=False,
    )
