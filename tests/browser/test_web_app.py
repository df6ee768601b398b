"""The web app in headless Chromium, against the real pipeline and default models (issue 6).

Waits are generous upper bounds for a loaded 2-core machine, never timing assertions.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import REQUEST_TEXT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TURN_TIMEOUT = 90_000  # ms: an upper bound for one turn on a busy machine

# Records every distinct text the newest reply bubble shows, so the test can see the reply stream in.
WATCH_REPLIES = """
() => {
  window.__replySnapshots = [];
  const chat = document.querySelector('#chat');
  new MutationObserver(() => {
    const bots = chat.querySelectorAll('[data-testid="bot"]');
    if (!bots.length) return;
    const text = bots[bots.length - 1].innerText.trim();
    const seen = window.__replySnapshots;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}
"""


def send(page, text: str) -> None:
    box = page.locator("#message textarea")
    box.fill(text)
    box.press("Enter")


def wait_for_turn(page, n: int) -> None:
    """Wait until the chat shows `n` finished turns (n user messages with intent lines, n replies)."""
    page.locator('#chat [data-testid="user"] .turn-meta').nth(n - 1).wait_for(timeout=TURN_TIMEOUT)
    page.locator('#chat [data-testid="bot"]').nth(n - 1).wait_for(timeout=TURN_TIMEOUT)
    page.wait_for_function(
        "() => !document.querySelector('#chat .pending') && "
        "document.querySelector('#waterfall .waterfall-row') !== null",  # the latency bars
        timeout=TURN_TIMEOUT,
    )


def intent_of(page, i: int = -1) -> tuple[str, float]:
    metas = page.locator('#chat [data-testid="user"] .turn-meta')
    meta = metas.nth(metas.count() - 1 if i < 0 else i)
    label = meta.locator(".intent-label").inner_text().strip()
    confidence = float(meta.locator(".intent-confidence").inner_text())
    return label, confidence


def replies(page) -> list[str]:
    return [t.strip() for t in page.locator('#chat [data-testid="bot"]').all_inner_texts()]


def served_audio_seconds(page, player: str, timeout: int = 90_000) -> float:
    """Wait for an audio player to receive a clip; fetch the clip the page would play; its length in s."""
    import io

    import soundfile as sf

    link = page.locator(f'{player} a[data-testid="download-link"]')
    link.wait_for(state="attached", timeout=timeout)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok, response.status
    samples, rate = sf.read(io.BytesIO(response.body()))
    return len(samples) / rate


def test_typed_message_streams_reply_and_shows_intent(new_page):
    page = new_page()
    page.evaluate(WATCH_REPLIES)
    send(page, "tell me something interesting about the moon")
    wait_for_turn(page, 1)
    label, confidence = intent_of(page)
    assert re.fullmatch(r"[a-z_]+", label)
    assert 0.0 <= confidence <= 1.0
    reply = replies(page)[-1]
    assert reply and not reply.startswith("⚠")
    snapshots = page.evaluate("window.__replySnapshots")
    assert snapshots[-1] == reply
    # A generated reply arrives piece by piece: the page showed growing prefixes before the whole text.
    if "→ generator" in page.locator('#chat [data-testid="user"]').last.inner_text():
        partial = [s for s in snapshots[:-1] if reply.startswith(s)]
        assert partial, f"the reply was not streamed: {snapshots}"
    # The side panel and the latency waterfall are filled after the turn.
    assert "Timers and alarms" in page.locator("#side-panel").inner_text()


def test_spoken_request_through_fake_microphone(new_page):
    page = new_page()
    mic = page.locator("#mic")
    mic.get_by_role("button", name="Record").click()
    page.wait_for_timeout(3500)  # the WAV is 0.4 s silence + ~1 s of speech + silence
    mic.get_by_role("button", name="Stop").click()
    wait_for_turn(page, 1)
    user = page.locator('#chat [data-testid="user"]').last.inner_text().lower()
    assert "time" in user, f"transcript of {REQUEST_TEXT!r}: {user}"
    label, _ = intent_of(page)
    assert label
    # The reply is spoken: the "Spoken reply" player holds a WAV that the page can fetch and play.
    duration = served_audio_seconds(page, "#reply-audio")
    assert duration > 0.3
    assert replies(page)[-1]
    # ...and the page said it through its own player as soon as the first sentence was synthesised.
    assert [c["index"] for c in wait_until_spoken(page) if c["event"] == "playing"][:1] == [0]


def test_nlu_lab_compares_the_shipped_models_on_first_start(new_page):
    from nlu.shipped import CATALOG

    shipped = {name for name, entry in CATALOG.items() if entry.shipped}
    page = new_page()
    page.get_by_role("tab", name="NLU lab").click()
    models = page.locator("#lab-models")
    checked = {
        box.get_attribute("value") or box.evaluate("(el) => el.closest('label').innerText.trim()")
        for box in models.locator("input[type=checkbox]").all()
        if box.is_checked()
    }
    assert checked == shipped  # every shipped model is ready, nothing to train first
    page.locator("#lab-utterance textarea").fill("wake me up at seven tomorrow morning")
    page.locator("#lab-compare").click()
    cells = page.locator("#lab-results .nlu-model")
    cells.nth(len(shipped) - 1).wait_for(timeout=TURN_TIMEOUT * 2)
    assert cells.count() == len(shipped)
    assert {cells.nth(i).get_attribute("data-model") for i in range(len(shipped))} == shipped
    for i in range(len(shipped)):
        cell = cells.nth(i)
        assert cell.locator(".error").count() == 0, cell.inner_text()
        assert cell.locator("ol.topk li").count() == 3
        confidences = [float(x) for x in cell.locator(".conf").all_inner_texts()]
        assert confidences == sorted(confidences, reverse=True)
        assert re.search(r"[\d.]+ ms", cell.locator(".latency").inner_text())
    # the report panel shows numbers measured on the shipped models before any comparison was run
    page.get_by_text("NLU comparison report").click()
    report = page.locator("#lab-report")
    report.get_by_text("Shipped NLU models").wait_for(timeout=30_000)
    assert "HWU64 test acc" in report.inner_text()


def test_two_users_chat_at_once_and_see_only_their_own_history(new_page):
    alice, bob = new_page("alice"), new_page("bob")
    send(alice, "add apples to my shopping list")
    send(bob, "what is two plus three")
    wait_for_turn(alice, 1)
    wait_for_turn(bob, 1)
    alice_chat = alice.locator("#chat").inner_text()
    bob_chat = bob.locator("#chat").inner_text()
    assert "apples" in alice_chat and "plus three" not in alice_chat
    assert "plus three" in bob_chat and "apples" not in bob_chat
    # The stored history is per user too.
    for page, own, other in ((alice, "apples", "plus three"), (bob, "plus three", "apples")):
        page.get_by_role("tab", name="History").click()
        for word in (own, other):
            query = page.locator("#history-query textarea")
            query.fill(word)
            query.press("Enter")
            expected = "Nothing found" if word == other else word
            page.locator("#history-results").get_by_text(expected).first.wait_for(timeout=TURN_TIMEOUT)
        page.locator("#history-refresh").click()
        page.locator("#history-turns").get_by_text(own).first.wait_for(timeout=TURN_TIMEOUT)
        assert other not in page.locator("#history-turns").inner_text()


def test_two_second_timer_fires_in_the_page(new_page):
    page = new_page()
    send(page, "set a timer for 2 seconds")
    wait_for_turn(page, 1)
    assert "skill:" in page.locator('#chat [data-testid="user"] .turn-meta').last.inner_text()
    fired = page.locator("#fired li.fired")
    fired.first.wait_for(timeout=30_000)
    assert fired.count() >= 1
    # ...and it sounds: the alarm player gets a clip.
    # (the alarm player has no download button: read the loaded clip's duration off the player)
    page.wait_for_function(
        "() => { const d = document.querySelector('#alarm-audio time#duration');"
        " return d && /[1-9]/.test(d.textContent); }",
        timeout=30_000,
    )


def spoken_clips(page, turn: int = -1) -> list[dict]:
    """What the page's reply player did for one turn: [{index, event: arrived|playing|blocked, at}, ...]."""
    return page.evaluate(
        """(turn) => {
            const log = (window.assistantVoice && window.assistantVoice.log) || [];
            const turns = [...new Set(log.map((e) => e.turn))];
            const id = turns[turn < 0 ? turns.length + turn : turn];
            return log.filter((e) => e.turn === id);
        }""",
        turn,
    )


def wait_until_spoken(page, turn: int = -1) -> list[dict]:
    """Wait for the page's player to start the reply's first clip (it plays from a data: WAV)."""
    page.wait_for_function(
        "() => (window.assistantVoice && window.assistantVoice.log || []).some((e) => e.event === 'playing')",
        timeout=TURN_TIMEOUT,
    )
    clips = spoken_clips(page, turn)
    assert not [c for c in clips if c["event"] == "blocked"], clips
    assert page.locator("#reply-player").get_attribute("src").startswith("data:audio/wav;base64,")
    return clips


def test_hands_free_listens_answers_and_keeps_listening(new_page):
    page = new_page()
    page.locator("#hands-free-start").click()
    status = page.locator("#listen-status")
    page.wait_for_function(
        "() => document.querySelector('#listen-status').innerText.includes('Listening')", timeout=30_000
    )
    # The fake microphone plays the request, then silence: the pause ends the utterance and the turn runs.
    wait_for_turn(page, 1)
    user = page.locator('#chat [data-testid="user"]').first.inner_text().lower()
    assert "time" in user, f"transcript of {REQUEST_TEXT!r}: {user}"
    label, _ = intent_of(page, 0)
    assert label == "datetime_query"
    assert replies(page)[0] and not replies(page)[0].startswith("⚠")
    clips = wait_until_spoken(page)
    assert clips[0]["index"] == 0
    # It keeps listening: Chromium loops the file, so the same request comes again and is answered again.
    wait_for_turn(page, 2)
    assert "time" in page.locator('#chat [data-testid="user"]').nth(1).inner_text().lower()
    page.locator("#hands-free-stop").click()
    # A timer tick already queued when Stop is pressed may still show Gradio's queue line for a moment;
    # the status must settle on exactly this text.
    page.wait_for_function(
        "() => document.querySelector('#listen-status').innerText.trim() === 'Not listening.'", timeout=30_000
    )
    assert status.inner_text().strip() == "Not listening."


def test_typed_reply_is_spoken_sentence_by_sentence(new_page):
    page = new_page()
    page.get_by_label("Speak replies to typed messages too").check()
    send(page, "tell me a short story about a brave little robot")
    wait_for_turn(page, 1)
    wait_until_spoken(page)
    # The reply comes as one clip per sentence, numbered from 0, and the page plays every clip, in order.
    # (How much playback overlaps synthesis is a speed question for `assistant bench e2e`, not asserted.)
    page.wait_for_function(
        """() => { const log = window.assistantVoice.log;
                   const turn = log[log.length - 1].turn, mine = log.filter((e) => e.turn === turn);
                   const n = (ev) => mine.filter((e) => e.event === ev).length;
                   return !window.assistantVoice.playing && n('playing') === n('arrived'); }""",
        timeout=TURN_TIMEOUT,
    )
    clips = spoken_clips(page)
    arrived = [c["index"] for c in clips if c["event"] == "arrived"]
    played = [c["index"] for c in clips if c["event"] == "playing"]
    assert arrived == list(range(len(arrived))) and played == arrived, clips
    assert not [c for c in clips if c["event"] == "blocked"], clips
    # The whole reply is also in the replay player.
    assert served_audio_seconds(page, "#reply-audio") > 0.3
