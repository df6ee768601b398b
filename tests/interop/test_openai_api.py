"""The OpenAI-compatible API (`ui.openai_api`) as its users call it: the official `openai` client against
the real app, served in this process by `ui.app.launch` (behind `ui.guard`) with the real default models,
plus hostile requests sent by hand.

The served app has an API token configured, so every call must carry it (as on an exposed server); the
rules for a localhost server without one are checked on the API app alone (Starlette's TestClient).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.conftest import run_async
from tests.robustness.conftest import free_port, make_settings

openai = pytest.importorskip("openai", reason="the dev extra installs the openai client")

pytestmark = pytest.mark.slow

TOKEN = "interop-token-0123456789"
JFK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech" / "jfk" / "jfk.flac"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Pipeline over a private database, with an API token configured (models load when used)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline

    settings = make_settings(
        tmp_path_factory.mktemp("api-data"), auth={"api_token": TOKEN}, wake={"enabled": False}
    )
    pipe = Pipeline(settings)
    yield pipe
    pipe.runtime.close()
    dispose_engine(settings.database_url)


@pytest.fixture(scope="module")
def served(pipeline: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """(base URL of /v1, pipeline) of the app served by `launch` on a free localhost port."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    from ui.app import build_app, launch

    pipeline.runtime.warm_up()
    demo = build_app(pipeline, pipeline.settings)
    port = free_port()
    launch(demo, pipeline.settings, "127.0.0.1", port, block=False, quiet=True, pipeline=pipeline)
    try:
        yield f"http://127.0.0.1:{port}/v1", pipeline
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(served: tuple[str, Any]) -> Any:
    return openai.OpenAI(base_url=served[0], api_key=TOKEN, max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def base(served: tuple[str, Any]) -> str:
    return served[0]


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is `status` with an OpenAI-shaped error that reads as a sentence (no traceback)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error, dict) and {"message", "type", "code"} <= error.keys(), error
    assert error["message"].strip() and "Traceback" not in response.text and 'File "' not in response.text
    return error


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


# --- the official client --------------------------------------------------------------------------------


def test_models_lists_the_assistant_and_the_generator(client: Any, served: tuple[str, Any]) -> None:
    generator = served[1].settings.generator.backend
    ids = [model.id for model in client.models.list()]
    assert ids == ["assistant", generator]
    assert client.models.retrieve("assistant").id == "assistant"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_a_skill_turn_through_the_whole_pipeline(client: Any) -> None:
    reply = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "what is 2 plus 3"}], user="calc-user"
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert "5" in choice.message.content
    turn = reply.model_extra["assistant_turn"]
    assert turn["routed_to"].startswith("skill:") and turn["user"] == "calc-user"
    assert turn["turn_id"] > 0


def test_a_streamed_turn_sets_a_timer_that_only_its_user_has(client: Any) -> None:
    stream = client.chat.completions.create(
        model="assistant",
        messages=[{"role": "user", "content": "set a timer for 10 minutes"}],
        user="ana",
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "10 minute" in text or "ten minute" in text, text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1

    def ask(user: str) -> str:
        reply = client.chat.completions.create(
            model="assistant",
            messages=[{"role": "user", "content": "how much time is left on my timer?"}],
            user=user,
        )
        return reply.choices[0].message.content

    assert "minute" in ask("ana")
    assert "minute" not in ask("ben")  # the timer is Ana's: Ben has none


def test_facts_are_remembered_per_user(client: Any) -> None:
    def say(user: str, text: str) -> str:
        messages = [{"role": "system", "content": "ignored by the assistant model"}]
        messages.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="assistant", messages=messages, user=user)
        return reply.choices[0].message.content

    say("user-one", "my name is Priya")
    assert "Priya" in say("user-one", "what's my name?")
    assert "Priya" not in say("user-two", "what's my name?")


def test_the_bare_generator_streams_tokens(client: Any, served: tuple[str, Any]) -> None:
    generator = served[1].settings.generator.backend
    messages = [{"role": "user", "content": "Write one sentence about the sea."}]
    whole = client.chat.completions.create(model=generator, messages=messages)
    assert whole.choices[0].message.content.strip()
    assert "assistant_turn" not in (whole.model_extra or {})

    chunks = list(client.chat.completions.create(model=generator, messages=messages, stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2, pieces  # token by token, not one block
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")

    cut = list(client.chat.completions.create(model=generator, messages=messages, stream=True, max_tokens=2))
    cut_pieces = [c for c in cut if c.choices and c.choices[0].delta.content]
    assert len(cut_pieces) <= 2 and cut[-1].choices[0].finish_reason == "length"


def test_transcribes_a_real_recording(client: Any) -> None:
    if not JFK.is_file():
        pytest.skip(f"{JFK} is not there")
    with JFK.open("rb") as file:
        text = client.audio.transcriptions.create(model="whisper-1", file=file).text
    assert "ask not what your country can do for you" in text.lower()
    with JFK.open("rb") as file:
        plain = client.audio.transcriptions.create(model="whisper-1", file=file, response_format="text")
    assert "fellow americans" in str(plain).lower()
    with JFK.open("rb") as file:
        verbose = client.audio.transcriptions.create(
            model="whisper-1", file=file, response_format="verbose_json"
        )
    assert verbose.duration == pytest.approx(11.0, abs=0.5) and verbose.language == "en"


def test_speech_as_wav_is_heard_back(client: Any) -> None:
    import soundfile as sf

    audio = client.audio.speech.create(
        model="tts-1", voice="alloy", input="Please set a timer for five minutes.", response_format="wav"
    ).read()
    samples, rate = sf.read(io.BytesIO(audio))
    assert rate > 8_000 and len(samples) / rate > 1.0
    heard = client.audio.transcriptions.create(model="whisper-1", file=("speech.wav", audio)).text
    assert "timer" in heard.lower() and "five" in heard.lower().replace("5", "five")


def test_speech_as_mp3_where_an_encoder_exists(client: Any) -> None:
    import soundfile as sf

    from ui.api_audio import available

    if not available("mp3"):
        pytest.skip("no MP3 encoder here (the 400 for that is tested below)")
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.").read()  # mp3
    info = sf.info(io.BytesIO(audio))
    assert info.format == "MP3" and info.duration > 0.3


def test_abandoned_streams_free_their_slots(client: Any, base: str, served: tuple[str, Any]) -> None:
    """Clients that hang up mid-stream stop their generation and free its slot: more of them than there
    are slots, then a normal request still gets one (a leaked slot would make it time out)."""
    from ui.openai_api import MAX_RUNNING

    generator = served[1].settings.generator.backend
    body = {"model": generator, "stream": True, "messages": [{"role": "user", "content": "Count to fifty."}]}
    for _ in range(MAX_RUNNING + 2):
        with httpx.stream("POST", f"{base}/chat/completions", json=body, headers=auth(), timeout=60) as r:
            assert r.status_code == 200
            assert next(r.iter_lines()).startswith("data: ")  # then hang up
    quick = openai.OpenAI(base_url=base, api_key=TOKEN, max_retries=0, timeout=60)
    reply = quick.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "what is 4 plus 4"}]
    )
    assert "8" in reply.choices[0].message.content


def test_slots_refuse_callers_beyond_the_queue() -> None:
    import asyncio

    from ui.api_wire import ApiError
    from ui.openai_api import Slots

    async def scenario() -> list[str]:
        slots = Slots(running=1, waiting=1)
        await slots.acquire()  # running
        waiter = asyncio.create_task(slots.acquire())  # queued
        await asyncio.sleep(0)
        outcomes = []
        try:
            await slots.acquire()  # one too many
        except ApiError as exc:
            outcomes.append(f"{exc.status} {exc.code}")
        slots.release()
        await asyncio.wait_for(waiter, 5)  # the queued one gets the freed slot
        outcomes.append("queued one ran")
        return outcomes

    assert run_async(scenario()) == ["429 server_busy", "queued one ran"]


# --- hostile requests -----------------------------------------------------------------------------------


def test_missing_or_wrong_token_is_401(base: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
        response = httpx.get(f"{base}/models", headers=headers)
        error = assert_openai_error(response, 401)
        assert error["type"] == "authentication_error"
        assert response.headers["www-authenticate"] == "Bearer"
    wrong = openai.OpenAI(base_url=base, api_key="not-the-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}])


def test_bad_json_is_400(base: str) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = httpx.post(
            f"{base}/chat/completions", content=body, headers=auth() | {"Content-Type": "application/json"}
        )
        assert_openai_error(response, 400)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "assistant"}, "messages"),
        ({"model": "assistant", "messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "assistant", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"model": "assistant", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "assistant", "messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
        ({"model": "assistant", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
        ({"model": "assistant", "messages": [{"role": "assistant", "content": "hi"}]}, "messages"),
        (
            {"model": "assistant", "messages": [{"role": "user", "content": "x" * 30_000}]},
            "messages[0].content",
        ),
    ],
)
def test_malformed_chat_requests_name_the_field(base: str, body: dict[str, Any], param: str) -> None:
    response = httpx.post(f"{base}/chat/completions", json=body, headers=auth())
    assert assert_openai_error(response, 400)["param"] == param


def test_unknown_model_is_404(client: Any, base: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "assistant" in str(caught.value)  # the message names the models there are
    response = httpx.post(
        f"{base}/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers=auth(),
    )
    assert assert_openai_error(response, 404)["code"] == "model_not_found"
    with JFK.open("rb") as file, pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="no-such-asr", file=file)


def test_huge_bodies_are_413(base: str) -> None:
    huge = b'{"model": "assistant", "messages": [{"role": "user", "content": "' + b"a" * (5 << 20) + b'"}]}'
    response = httpx.post(
        f"{base}/chat/completions", content=huge, headers=auth() | {"Content-Type": "application/json"}
    )
    assert_openai_error(response, 413)

    def chunked() -> Iterator[bytes]:  # no Content-Length: cut off while it streams in
        yield huge[:1000]
        for start in range(1000, len(huge), 1 << 16):
            yield huge[start : start + (1 << 16)]

    response = httpx.post(
        f"{base}/chat/completions", content=chunked(), headers=auth() | {"Content-Type": "application/json"}
    )
    assert_openai_error(response, 413)
    big_audio = {"file": ("big.wav", b"\0" * (51 << 20)), "model": (None, "whisper-1")}
    response = httpx.post(f"{base}/audio/transcriptions", files=big_audio, headers=auth(), timeout=120)
    assert_openai_error(response, 413)


def test_wrong_content_types_are_415(base: str) -> None:
    body = b'{"model": "assistant", "messages": [{"role": "user", "content": "hi"}]}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        headers = auth() | ({"Content-Type": content_type} if content_type else {})
        response = httpx.post(f"{base}/chat/completions", content=body, headers=headers)
        assert_openai_error(response, 415)
    response = httpx.post(f"{base}/audio/transcriptions", json={"model": "whisper-1"}, headers=auth())
    assert_openai_error(response, 415)
    response = httpx.post(
        f"{base}/audio/speech", files={"input": (None, "hi")}, headers=auth()
    )  # multipart where JSON is expected
    assert_openai_error(response, 415)


def test_bad_uploads_are_400(base: str) -> None:
    cases = [
        {"file": ("noise.wav", b"this is not audio at all" * 100), "model": (None, "whisper-1")},
        {"model": (None, "whisper-1")},  # no file
        {"file": ("empty.wav", b""), "model": (None, "whisper-1")},
        {
            "file": ("a.flac", JFK.read_bytes()),
            "model": (None, "whisper-1"),
            "response_format": (None, "xml"),
        },
        {"file": ("a.flac", JFK.read_bytes()), "model": (None, "whisper-1"), "language": (None, "fr")},
    ]
    for files in cases:
        response = httpx.post(f"{base}/audio/transcriptions", files=files, headers=auth())
        assert_openai_error(response, 400)


def test_bad_speech_requests_are_400(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    good = {"model": "tts-1", "voice": "alloy", "input": "hello", "response_format": "wav"}
    for change in (
        {"voice": "no-such-voice"},
        {"input": ""},
        {"input": "x" * 5000},
        {"response_format": "ogg-vorbis"},
        {"speed": 2.0},
    ):
        response = httpx.post(f"{base}/audio/speech", json=good | change, headers=auth())
        assert_openai_error(response, 400)
    response = httpx.post(f"{base}/audio/speech", json=good | {"model": "nope"}, headers=auth())
    assert_openai_error(response, 404)

    from ui import api_audio

    monkeypatch.setattr(api_audio, "available", lambda fmt: fmt in ("wav", "pcm"))
    response = httpx.post(f"{base}/audio/speech", json=good | {"response_format": "mp3"}, headers=auth())
    error = assert_openai_error(response, 400)
    assert error["code"] == "encoder_unavailable" and "wav" in error["message"]


def test_unknown_routes_and_methods_answer_in_openai_shape(base: str) -> None:
    assert_openai_error(httpx.get(f"{base}/embeddings", headers=auth()), 404)
    assert_openai_error(httpx.get(f"{base}/chat/completions", headers=auth()), 405)


def test_a_page_on_another_site_cannot_post(base: str) -> None:
    response = httpx.post(
        f"{base}/chat/completions",
        json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
        headers=auth() | {"Origin": "https://evil.example"},
    )
    assert_openai_error(response, 403)


# --- token rules, on the API app alone ------------------------------------------------------------------


@pytest.fixture
def local_settings(tmp_path: Path) -> Any:
    return make_settings(tmp_path)


def _api_client(pipeline: Any, settings: Any, exposed: bool) -> Any:
    from starlette.testclient import TestClient

    from ui.openai_api import openai_app

    return TestClient(openai_app(pipeline, settings, exposed=exposed))


def test_a_localhost_server_without_a_token_needs_none(pipeline: Any, local_settings: Any) -> None:
    with _api_client(pipeline, local_settings, exposed=False) as api:
        assert api.get("/models").status_code == 200


def test_an_exposed_server_without_a_token_refuses_every_call(pipeline: Any, local_settings: Any) -> None:
    with _api_client(pipeline, local_settings, exposed=True) as api:
        response = api.get("/models", headers={"Authorization": "Bearer anything"})
        assert response.status_code == 401
        assert "auth.api_token" in response.json()["error"]["message"].replace("AUTH__API_TOKEN", "")


def test_the_web_password_is_the_token_when_no_api_token_is_set(pipeline: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"username": "me", "password": "web-password-123"})
    with _api_client(pipeline, settings, exposed=True) as api:
        assert api.get("/models", headers={"Authorization": "Bearer web-password-123"}).status_code == 200
        assert api.get("/models", headers={"Authorization": "Bearer other"}).status_code == 401


def test_wrong_tokens_are_throttled(served: tuple[str, Any], tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"api_token": TOKEN, "max_failures": 3})
    with _api_client(served[1], settings, exposed=True) as api:
        codes = [api.get("/models", headers={"Authorization": "Bearer guess"}).status_code for _ in range(4)]
        assert codes[:3] == [401, 401, 401] and codes[3] == 429
        right = api.get("/models", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 429  # even the right token waits out the pause
        assert right.json()["error"]["type"] == "rate_limit_error"


def test_one_clients_wrong_tokens_never_lock_out_another() -> None:
    from ui.api_auth import BearerAuth, TokenPolicy, Unauthorized
    from ui.throttle import LoginThrottle

    auth = BearerAuth(TokenPolicy(token=TOKEN, required=True), LoginThrottle(3, 3, 60.0))
    statuses = []
    for _ in range(10):
        try:
            auth.check("Bearer guess", "10.0.0.66")
        except Unauthorized as exc:
            statuses.append(exc.status)
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}
    assert auth.check(f"Bearer {TOKEN}", "10.0.0.2").account is None  # another client: let in at once


def test_serve_refuses_a_short_api_token_on_an_exposed_server(tmp_path: Path) -> None:
    from ui.serve import ServeError, plan

    settings = make_settings(
        tmp_path, auth={"username": "me", "password": "a-long-web-password", "api_token": "short"}
    )
    with pytest.raises(ServeError, match="api_token"):
        plan(settings, "0.0.0.0", 7860, share=False, insecure_no_auth=False)
    assert plan(settings, "127.0.0.1", 7860, share=False, insecure_no_auth=False).auth is not None
