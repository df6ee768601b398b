"""The guard's rules without a server: which hosts are answered, how sign-in pauses grow, upload quotas.
(tests/robustness/test_abuse.py attacks the served app over HTTP.)"""

from __future__ import annotations

import pytest

from ui.guard import allowed_hosts, host_name
from ui.throttle import MAX_TRACKED, LoginThrottle, UploadQuota


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("header", "name"),
    [("localhost:7860", "localhost"), ("[::1]:7860", "::1"), ("Example.ORG", "example.org"), ("::1", "::1")],
)
def test_host_names_are_read_without_port_and_case(header: str, name: str) -> None:
    assert host_name(header) == name


def test_a_localhost_server_answers_only_localhost_names() -> None:
    hosts = allowed_hosts("127.0.0.1")
    assert hosts is not None and {"localhost", "127.0.0.1", "::1"} <= hosts
    assert "evil.example" not in hosts
    assert "assistant.lan" in (allowed_hosts("127.0.0.1", ["Assistant.lan"]) or ())
    assert allowed_hosts("0.0.0.0") is None  # all interfaces, behind a login: any name
    pinned = allowed_hosts("0.0.0.0", ["box.lan"])
    assert pinned is not None and "box.lan" in pinned and "evil.example" not in pinned
    assert allowed_hosts("127.0.0.1", ["*"]) is None


def test_failed_sign_ins_pause_the_client_and_the_pause_doubles() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, account_max_failures=100, lockout_s=60, clock=clock)
    for _ in range(3):
        assert throttle.wait_s("1.2.3.4", "me") == 0
        throttle.failed("1.2.3.4", "me")
    assert throttle.wait_s("1.2.3.4", "me") == pytest.approx(60)
    assert throttle.wait_s("5.6.7.8", "me") == 0  # another client may still try this account
    clock.now += 61
    for _ in range(3):
        throttle.failed("1.2.3.4", "me")
    assert throttle.wait_s("1.2.3.4", "me") == pytest.approx(120)
    throttle.succeeded("1.2.3.4")
    assert throttle.wait_s("1.2.3.4", "me") == 0


def test_an_account_is_paused_whichever_clients_guess() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=100, account_max_failures=10, lockout_s=60, clock=clock)
    for i in range(10):
        throttle.failed(f"10.0.0.{i}", "Me")
    assert throttle.wait_s("10.9.9.9", "me") > 0  # account names compare without case


def test_throttle_tables_stay_bounded() -> None:
    throttle = LoginThrottle(clock=Clock())
    for i in range(MAX_TRACKED + 50):
        throttle.failed(f"client-{i}", f"account-{i}")
    assert len(throttle._clients) <= MAX_TRACKED and len(throttle._accounts) <= MAX_TRACKED


def test_upload_quota_is_per_client_and_refills_after_the_window() -> None:
    clock = Clock()
    quota = UploadQuota(1000, window_s=3600, clock=clock)
    quota.spend("a", 600)
    quota.spend("a", 300)
    assert quota.left("a") == 100 and quota.left("b") == 1000
    clock.now += 3601
    assert quota.left("a") == 1000


def test_a_tab_keeps_a_bounded_chat() -> None:
    from assistant.config import WebSettings
    from ui.conversation import kept_messages

    web = WebSettings(chat_messages_kept=50, chat_chars_kept=100_000)
    messages = [{"role": "user", "content": f"{i} " + "x" * 9_990} for i in range(300)]
    kept = kept_messages(messages, web)
    assert kept[-1] is messages[-1] and len(kept) <= 50
    assert sum(len(m["content"]) for m in kept) <= 100_000
    assert kept_messages([{"role": "user", "content": "y" * 500_000}], web)  # the newest always stays
