"""Exceptions become short messages in the page; the traceback goes to the server log only.

The project's own error classes carry messages written for users (bad audio, unknown model, a model that
cannot load offline), so those are shown as they are. Anything else is a bug: the page says so plainly
and the log has the details.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("assistant.ui")

GENERIC = "Something went wrong on the server (the details are in its log). Please try again."


def _user_facing_types() -> tuple[type[BaseException], ...]:
    from assistant.config import ConfigError
    from assistant.memory import DatabaseError, MemoryInputError
    from assistant.offline import ModelNotAvailableError
    from nlu.plugins import UnknownBackendError

    return (
        ValueError,
        ConfigError,
        DatabaseError,
        MemoryInputError,
        ModelNotAvailableError,
        UnknownBackendError,
    )


def user_message(exc: BaseException) -> str:
    """A message fit for the page: the error's own text when it was written for users, else a generic one."""
    if isinstance(exc, _user_facing_types()):
        text = str(exc).strip()
        if text:
            return text[:500]
    return GENERIC


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event handler (plain or generator): any exception becomes a `gr.Error` with a clear message."""
    import gradio as gr

    def convert(exc: Exception) -> gr.Error:
        if isinstance(exc, gr.Error):
            return exc
        log.exception("UI handler %s failed", fn.__name__)
        return gr.Error(html.escape(user_message(exc)), print_exception=False)

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise convert(exc) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise convert(exc) from None

    return wrapper
