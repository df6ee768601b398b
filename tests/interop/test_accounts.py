"""One person, one memory, across every door; real accounts when the server is shared.

- On localhost without sign-in the web app, `chat` and the API act for the owner: a reload keeps the
  history, and what `chat` was told is there in the browser and through the API.
- With accounts, A never reaches B's data through the web app's handlers or the API; a wrong password or
  token is refused with a sentence and writes nothing.
- `assistant users add|list|remove|passwd|token`, with salted scrypt hashes and hashed tokens.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from assistant.accounts import AccountError, Accounts, open_accounts
from assistant.accounts.doors import web_owner
from assistant.accounts.hashing import hash_password, token_digest, verify_password
from assistant.memory import open_memory
from assistant.memory.db import dispose_engine
from assistant.memory.models import Account, Turn, User
from assistant.memory.records import NewTurn
from tests.interop.conftest import run_async
from tests.robustness.conftest import clean_env, free_port, make_settings
from ui.history import HistoryTab
from ui.session import ensure_session
from ui.state import user_state

PASSWORD_A = "alice-password-123"
PASSWORD_B = "bobs-password-4567"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Any]:
    settings = make_settings(tmp_path, owner="ana")
    yield settings
    dispose_engine(settings.database_url)


def page_load(username: str | None = None, session_hash: str = "tab") -> Any:
    """What Gradio hands a handler: the signed-in name (None without sign-in) and the tab's session hash."""
    return SimpleNamespace(username=username, session_hash=session_hash)


def rows(settings: Any) -> dict[str, int]:
    """How many users, turns and accounts the database holds (to show a refusal wrote nothing)."""
    memory = open_memory(settings)
    with memory.db.read() as session:
        return {
            m.__name__: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (User, Turn, Account)
        }


# --- the owner: every door on localhost without sign-in ------------------------------------------------


def test_the_owner_is_the_login_name_unless_configured(tmp_path: Path) -> None:
    import getpass

    assert make_settings(tmp_path).owner == getpass.getuser()
    assert make_settings(tmp_path, owner="  ana ").owner == "ana"


def test_web_tabs_act_for_the_owner_only_on_localhost(tmp_path: Path) -> None:
    assert web_owner(make_settings(tmp_path, owner="ana")) == "ana"
    assert web_owner(make_settings(tmp_path, owner="ana", host="0.0.0.0")) is None  # guests, never the owner
    assert web_owner(make_settings(tmp_path, owner="ana", share=True)) is None
    assert web_owner(make_settings(tmp_path, owner="ana", web={"guest_tabs": True})) is None


def test_a_reload_keeps_the_owners_history_lists_and_facts(settings: Any) -> None:
    memory = open_memory(settings)
    owner = web_owner(settings)
    first = ensure_session(None, page_load(session_hash="first-load"), memory, owner)
    conversation = memory.start_conversation(first.user_id).id
    memory.append_turn(first.user_id, conversation, NewTurn("add milk to my shopping list", "Added milk."))
    memory.add_list_item(first.user_id, "shopping", "milk")
    memory.set_fact(first.user_id, "name", "Ana")

    reloaded = ensure_session(None, page_load(session_hash="after-reload"), memory, owner)
    assert reloaded.user_name == "ana" and reloaded.user_id == first.user_id
    state = user_state(memory, reloaded.user_id)
    assert state["lists"] == {"shopping": ["milk"]} and state["facts"]["name"] == "Ana"
    history = HistoryTab(SimpleNamespace(memory=memory, settings=settings))
    found, _ = history.on_search("milk", reloaded, page_load(session_hash="after-reload"))
    assert "add milk to my shopping list" in found
    # ...and it is the same user `chat` and `talk` use (settings.owner), so all doors share one memory
    assert memory.user(settings.owner).id == first.user_id


def test_guest_tabs_still_forget_on_reload_when_asked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, web={"guest_tabs": True})
    memory = open_memory(settings)
    one = ensure_session(None, page_load(session_hash="one"), memory, web_owner(settings))
    two = ensure_session(None, page_load(session_hash="two"), memory, web_owner(settings))
    assert one.user_id != two.user_id and one.user_name.startswith("guest-")
    dispose_engine(settings.database_url)


def test_launch_refuses_to_expose_the_owner_without_sign_in(settings: Any) -> None:
    from ui.app import launch

    with pytest.raises(ValueError, match="owner"):
        launch(None, settings, "0.0.0.0", 7860)  # type: ignore[arg-type]  # refused before the demo is used


# --- accounts: hashes and tokens -------------------------------------------------------------------------


def test_password_hashes_are_salted_slow_scrypt_and_tokens_are_kept_only_as_digests(settings: Any) -> None:
    one, two = hash_password(PASSWORD_A), hash_password(PASSWORD_A)
    assert one != two and one.startswith("scrypt$15$") and PASSWORD_A not in one
    assert verify_password(PASSWORD_A, one) and not verify_password(PASSWORD_B, one)
    assert not verify_password(PASSWORD_A, "scrypt$99$8$1$AAAA$BBBB")  # absurd cost: refused, not run
    assert not verify_password(PASSWORD_A, "not a hash")

    accounts = open_accounts(settings)
    accounts.add("alice", PASSWORD_A, min_chars=12)
    token = accounts.rotate_token("alice")
    with accounts.db.read() as session:
        row = session.scalar(select(Account).where(Account.name == "alice"))
        assert row is not None and PASSWORD_A not in row.password_hash
        assert row.token_hash == token_digest(token) and token not in row.token_hash
    assert accounts.name_for_token(token) == "alice"
    again = accounts.rotate_token("alice")
    assert accounts.name_for_token(token) is None and accounts.name_for_token(again) == "alice"


def test_account_names_and_passwords_are_checked(settings: Any) -> None:
    accounts = open_accounts(settings)
    for name, password, why in (
        ("", PASSWORD_A, "empty"),
        ("guest-1234", PASSWORD_A, "guests"),
        ("bad\nname", PASSWORD_A, "control"),
        ("carol", "short", "too short"),
    ):
        with pytest.raises(AccountError, match=why):
            accounts.add(name, password, min_chars=12)
    accounts.add("carol", PASSWORD_A, min_chars=12)
    with pytest.raises(AccountError, match="already"):
        accounts.add("carol", PASSWORD_B, min_chars=12)
    assert [a.name for a in accounts.list()] == ["carol"]


# --- the CLI ---------------------------------------------------------------------------------------------


def test_users_add_list_passwd_token_remove(tmp_path: Path) -> None:
    from assistant.cli import app

    env = clean_env() | {"ASSISTANT_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    runner = CliRunner()

    def users(*args: str, stdin: str | None = None) -> Any:
        result = runner.invoke(app, ["users", *args], input=stdin, env=env)
        assert "Traceback" not in result.output
        return result

    assert users("add", "alice", "--password-stdin", stdin=PASSWORD_A + "\n").exit_code == 0
    short = users("add", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "too short" in short.output
    assert users("add", "bob", stdin=f"{PASSWORD_B}\n{PASSWORD_B}\n").exit_code == 0  # prompted twice
    assert users("add", "bob", "--password-stdin", stdin=PASSWORD_B + "\n").exit_code == 1  # exists
    listed = users("list")
    assert listed.exit_code == 0 and "alice" in listed.output and "bob" in listed.output

    settings = make_settings(tmp_path)
    accounts = open_accounts(settings)
    assert accounts.verify("alice", PASSWORD_A) and not accounts.verify("alice", PASSWORD_B)
    assert users("passwd", "alice", "--password-stdin", stdin="a-brand-new-password\n").exit_code == 0
    assert accounts.verify("alice", "a-brand-new-password") and not accounts.verify("alice", PASSWORD_A)
    assert users("passwd", "nobody", "--password-stdin", stdin=PASSWORD_A + "\n").exit_code == 1

    made = users("token", "alice")
    token = made.stdout.strip().splitlines()[-1]
    assert made.exit_code == 0 and token.startswith("ast_") and accounts.name_for_token(token) == "alice"
    assert users("token", "nobody").exit_code == 1

    memory = open_memory(settings)
    memory.set_fact(memory.user("bob").id, "name", "Bob")
    assert users("remove", "bob", "--yes").exit_code == 0
    assert not accounts.exists("bob") and memory.facts(memory.user("bob").id) == {}
    assert users("remove", "bob", "--yes").exit_code == 1
    assert [a.name for a in accounts.list()] == ["alice"]
    dispose_engine(settings.database_url)


# --- the web app with accounts: sign-in, and A never sees B ----------------------------------------------


def test_sign_in_checks_accounts_and_the_settings_pair_and_is_awaited(settings: Any) -> None:
    from ui.sign_in import gradio_auth

    accounts = open_accounts(settings)
    assert gradio_auth(("me", "pw"), accounts) == ("me", "pw")  # no accounts: Gradio's own pair check
    accounts.add("alice", PASSWORD_A, min_chars=12)
    check = gradio_auth(("me", "legacy-password-1"), accounts)
    # Gradio awaits only coroutine functions; anything else's return value (a coroutine: truthy) would pass
    assert inspect.iscoroutinefunction(check)
    assert run_async(check("alice", PASSWORD_A)) and run_async(check("me", "legacy-password-1"))
    for name, password in (("alice", PASSWORD_B), ("alice", ""), ("nobody", PASSWORD_A), ("me", PASSWORD_A)):
        assert not run_async(check(name, password))


def test_a_signed_in_user_never_reaches_anothers_data_through_the_web_handlers(settings: Any) -> None:
    memory = open_memory(settings)
    owner = web_owner(settings)  # a signed-in name wins over the owner
    history = HistoryTab(SimpleNamespace(memory=memory, settings=settings))
    alice = ensure_session(None, page_load("alice", "a"), memory, owner)
    conversation = memory.start_conversation(alice.user_id).id
    memory.append_turn(alice.user_id, conversation, NewTurn("remember the secret word pineapple", "OK."))

    bob = ensure_session(None, page_load("bob", "b"), memory, owner)
    assert bob.user_id != alice.user_id and bob.user_name == "bob"
    found, _ = history.on_search("pineapple", bob, page_load("bob", "b"))
    assert "Nothing found" in found
    choices, turns, _ = history.on_refresh(bob, page_load("bob", "b"))
    assert choices["choices"] == [] and "pineapple" not in turns
    # alice's tab state handed in with bob's sign-in is replaced, not used
    stolen, session = history.on_search("pineapple", alice, page_load("bob", "b"))
    assert "Nothing found" in stolen and session.user_name == "bob"
    mine, _ = history.on_search("pineapple", alice, page_load("alice", "a"))
    assert "pineapple" in mine


@pytest.mark.slow
def test_the_served_page_asks_to_sign_in_and_refuses_a_wrong_password(tmp_path: Path) -> None:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    from assistant.pipeline import Pipeline
    from ui.app import build_app, launch

    settings = make_settings(tmp_path, wake={"enabled": False})
    open_accounts(settings).add("alice", PASSWORD_A, min_chars=12)
    pipeline = Pipeline(settings)
    demo = build_app(pipeline, settings)
    port = free_port()
    launch(demo, settings, "127.0.0.1", port, block=False, quiet=True, pipeline=pipeline)
    try:
        base = f"http://127.0.0.1:{port}"
        before = rows(settings)
        wrong = httpx.post(f"{base}/login", data={"username": "alice", "password": PASSWORD_B})
        assert wrong.status_code == 400 and "Incorrect credentials" in wrong.text
        assert (
            httpx.post(f"{base}/login", data={"username": "eve", "password": PASSWORD_A}).status_code == 400
        )
        assert rows(settings) == before  # refused sign-ins write nothing
        right = httpx.post(f"{base}/login", data={"username": "alice", "password": PASSWORD_A})
        assert right.status_code == 200 and right.json() == {"success": True}
        # the API on the same server needs a token now that accounts exist, even on localhost
        assert httpx.get(f"{base}/v1/models").status_code == 401
    finally:
        demo.close()
        pipeline.runtime.close()
        dispose_engine(settings.database_url)


# --- the API: tokens per user ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Pipeline over a private database with the real default models (they load on first use)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from assistant.pipeline import Pipeline

    settings = make_settings(tmp_path_factory.mktemp("accounts-api"), owner="ana", wake={"enabled": False})
    pipe = Pipeline(settings)
    yield pipe
    pipe.runtime.close()
    dispose_engine(settings.database_url)


def api(pipeline: Any, settings: Any | None = None, exposed: bool = False) -> Any:
    from starlette.testclient import TestClient

    from ui.openai_api import openai_app

    return TestClient(openai_app(pipeline, settings or pipeline.settings, exposed=exposed))


def ask(client: Any, text: str, token: str | None = None, user: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"model": "assistant", "messages": [{"role": "user", "content": text}]}
    if user is not None:
        body["user"] = user
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/chat/completions", json=body, headers=headers)


def reply(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


@pytest.mark.slow
def test_chat_the_web_app_and_the_api_share_the_owners_memory(pipeline: Any, tmp_path: Path) -> None:
    """What `assistant chat` was told is in the browser and answered through the API, on localhost."""
    from assistant.cli import app

    settings = pipeline.settings
    env = clean_env() | {"ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_OWNER": "ana"}
    env |= {"ASSISTANT_CACHE_DIR": str(settings.cache_dir), "ASSISTANT_NLU__MODEL": settings.nlu.model}
    said = CliRunner().invoke(app, ["chat", "--once", "add oat milk to my shopping list"], env=env)
    assert said.exit_code == 0, said.output

    memory = pipeline.memory
    tab = ensure_session(None, page_load(session_hash="browser"), memory, web_owner(settings))
    assert user_state(memory, tab.user_id)["lists"].get("shopping") == ["oat milk"]
    with api(pipeline) as client:  # localhost, no token configured: the owner unless `user` names another
        response = ask(client, "what is on my shopping list")
        assert "oat milk" in reply(response).lower()
        assert response.json()["assistant_turn"]["user"] == "ana"


@pytest.mark.slow
def test_each_token_acts_for_its_own_account_only(pipeline: Any) -> None:
    accounts = Accounts(pipeline.memory.db)
    for name, password in (("alice", PASSWORD_A), ("bob", PASSWORD_B)):
        if not accounts.exists(name):
            accounts.add(name, password, min_chars=12)
    alice, bob = accounts.rotate_token("alice"), accounts.rotate_token("bob")
    memory = pipeline.memory
    try:
        with api(pipeline) as client:
            assert "added" in reply(ask(client, "add kiwis to my shopping list", alice)).lower()
            assert "kiwis" not in reply(ask(client, "what is on my shopping list", bob)).lower()
            assert user_state(memory, memory.user("alice").id)["lists"] == {"shopping": ["kiwis"]}
            assert "shopping" not in user_state(memory, memory.user("bob").id)["lists"]

            # bob's token cannot name alice; a wrong or missing token is refused; none of it writes a row
            before = rows(pipeline.settings)
            posing = ask(client, "what is on my shopping list", bob, user="alice")
            assert posing.status_code == 403 and "another account" in posing.json()["error"]["message"]
            wrong = ask(client, "add plums to my shopping list", "ast_not-a-real-token")
            assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "The API token is wrong."
            missing = ask(client, "add plums to my shopping list")
            assert missing.status_code == 401 and "Bearer" in missing.json()["error"]["message"]
            assert rows(pipeline.settings) == before
    finally:
        for name in ("alice", "bob"):
            accounts.remove(name)  # the other tests of this module run without accounts
