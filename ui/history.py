"""The History tab: this user's past conversations from the database, search, delete one, forget me.

Every call goes through `Memory` with the session's own user id, so a tab can only ever see or delete
its own user's rows.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from assistant.accounts.doors import web_owner
from ui.errors import friendly
from ui.render import turns_table
from ui.session import WebSession, ensure_session

FORGET_CONFIRMATION = "forget me"


def conversation_choices(memory: Any, user_id: int | None) -> list[tuple[str, int]]:
    if user_id is None:
        return []
    out = []
    for conv in memory.list_conversations(user_id, limit=200):
        when = conv.updated_at.strftime("%Y-%m-%d %H:%M")
        out.append((f"#{conv.id} · {conv.turn_count} turns · {when}", conv.id))
    return out


class HistoryTab:
    def __init__(self, pipeline: Any, settings: Any = None) -> None:
        self.pipeline = pipeline
        self.settings = settings if settings is not None else pipeline.settings

    def build(self, session: gr.State) -> None:
        self.session = session
        with gr.Row():
            self.query = gr.Textbox(
                label="Search your turns", placeholder="timer", scale=4, elem_id="history-query"
            )
            self.search = gr.Button("Search", scale=1, elem_id="history-search")
        self.results = gr.HTML(elem_id="history-results")
        with gr.Row():
            self.conversations = gr.Dropdown(
                [], label="Your conversations", scale=4, elem_id="history-conversations", interactive=True
            )
            self.refresh = gr.Button("Refresh", scale=1, size="sm", elem_id="history-refresh")
            self.delete = gr.Button(
                "Delete this conversation", scale=1, variant="stop", elem_id="history-delete"
            )
        self.turns = gr.HTML(elem_id="history-turns")
        with gr.Accordion("Forget me", open=False):
            gr.Markdown(
                "Erases **everything** stored about you: conversations, lists, timers, reminders and facts. "
                f"Type `{FORGET_CONFIRMATION}` to confirm."
            )
            with gr.Row():
                self.confirm = gr.Textbox(
                    show_label=False, placeholder=FORGET_CONFIRMATION, elem_id="forget-confirm"
                )
                self.forget = gr.Button("Forget me", variant="stop", elem_id="forget-me")
        self.message = gr.Markdown(elem_id="history-message")
        self._wire()

    def _wire(self) -> None:
        private = {"api_visibility": "private", "concurrency_limit": None}
        for trigger in (self.search.click, self.query.submit):
            trigger(self.on_search, [self.query, self.session], [self.results, self.session], **private)
        self.refresh.click(
            self.on_refresh, [self.session], [self.conversations, self.turns, self.session], **private
        )
        self.conversations.change(self.on_show, [self.conversations, self.session], [self.turns], **private)
        self.delete.click(
            self.on_delete,
            [self.conversations, self.session],
            [self.conversations, self.turns, self.message, self.session],
            **private,
        )

    def wire_forget(self, outputs: list[Any], reset: Any) -> None:
        """'Forget me' also clears the Conversation tab; `reset(session)` gives its cleared outputs."""
        self._reset = reset
        self.forget.click(
            self.on_forget,
            [self.confirm, self.session],
            [
                self.message,
                self.confirm,
                self.conversations,
                self.turns,
                self.results,
                self.session,
                *outputs,
            ],
            api_visibility="private",
        )

    # --- handlers -----------------------------------------------------------------------------------

    def _session(self, session: WebSession | None, request: gr.Request) -> WebSession:
        return ensure_session(session, request, self.pipeline.memory, web_owner(self.settings))

    @friendly
    def on_search(
        self, query: str, session: WebSession | None, request: gr.Request
    ) -> tuple[str, WebSession]:
        session = self._session(session, request)
        query = (query or "").strip()
        if not query:
            return "<p class='muted'>Type a word to search for.</p>", session
        turns = self.pipeline.memory.search_turns(session.user_id, query, limit=100)
        if not turns:
            return f"<p class='muted'>Nothing found for “{html.escape(query)}”.</p>", session
        return turns_table(turns), session

    @friendly
    def on_refresh(self, session: WebSession | None, request: gr.Request) -> tuple[Any, str, WebSession]:
        session = self._session(session, request)
        choices = conversation_choices(self.pipeline.memory, session.user_id)
        value = choices[0][1] if choices else None
        return gr.update(choices=choices, value=value), self._turns_html(session, value), session

    @friendly
    def on_show(self, conversation_id: int | None, session: WebSession | None) -> str:
        if session is None:
            return ""
        return self._turns_html(session, conversation_id)

    def _turns_html(self, session: WebSession, conversation_id: int | None) -> str:
        if conversation_id is None or session.user_id is None:
            return "<p class='muted'>No conversation selected.</p>"
        turns = self.pipeline.memory.recent_turns(session.user_id, int(conversation_id), n=1000)
        return turns_table(turns)

    @friendly
    def on_delete(
        self, conversation_id: int | None, session: WebSession | None, request: gr.Request
    ) -> tuple[Any, str, str, WebSession]:
        session = self._session(session, request)
        if conversation_id is None:
            raise gr.Error("Pick a conversation to delete.")
        if not self.pipeline.memory.delete_conversation(session.user_id, int(conversation_id)):
            raise gr.Error("That conversation no longer exists.")
        if session.conversation_id == int(conversation_id):
            session.conversation_id = None
            session.messages = []
        choices = conversation_choices(self.pipeline.memory, session.user_id)
        value = choices[0][1] if choices else None
        return (
            gr.update(choices=choices, value=value),
            self._turns_html(session, value),
            f"Deleted conversation #{int(conversation_id)}.",
            session,
        )

    @friendly
    def on_forget(self, confirm: str, session: WebSession | None, request: gr.Request) -> tuple[Any, ...]:
        if (confirm or "").strip().lower() != FORGET_CONFIRMATION:
            raise gr.Error(f"Type “{FORGET_CONFIRMATION}” in the box to confirm.")
        session = self._session(session, request)
        self.pipeline.memory.forget_user(session.user_id)
        fresh = WebSession(user_name=session.user_name)  # a new, empty user on the next turn
        return (
            "Done: everything stored about you is erased.",
            "",
            gr.update(choices=[], value=None),
            "",
            "",
            fresh,
            *self._reset(fresh),
        )
