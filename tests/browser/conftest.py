"""Real-browser fixtures: the web app served on 127.0.0.1 (free port, private database) and headless
Debian Chromium driven by Playwright, with a fake microphone that plays a WAV made by the test.

Playwright's own browser download needs internet, so Chromium comes from apt (`scripts/setup.sh --dev`
installs `chromium` and `chromium-driver`). Where it truly cannot be installed these tests skip with a
loud reason in the summary (`-ra`) and a warning; they never pass silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
REQUEST_TEXT = "What time is it?"


def _find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _try_install_chromium() -> str:
    """apt-get install chromium when we are root (what setup.sh --dev does); returns what happened."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root or no apt-get, so it cannot be installed from here"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
        result = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get failed: {exc}"
    return "installed" if result.returncode == 0 else f"apt-get failed: {result.stderr.strip()[-300:]}"


def _skip_loudly(reason: str) -> None:
    message = f"BROWSER TESTS SKIPPED: {reason}"
    warnings.warn(message, stacklevel=2)
    print(f"\n{'!' * 20} {message} {'!' * 20}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        outcome = _try_install_chromium()
        path = _find_chromium()
        if path is None:
            _skip_loudly(
                f"Chromium is not installed and {outcome}. Install it with "
                "`sudo apt-get install chromium chromium-driver` (scripts/setup.sh --dev does)."
            )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_loudly("the `playwright` Python package is missing: `pip install -e '.[dev]'`.")
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def request_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spoken request (Piper, the offline default voice) with silence around it, as the fake mic input.

    Chromium loops the file, so a long tail of silence keeps one recording to one request.
    """
    import numpy as np

    from assistant.audio import write_wav
    from assistant.config import load_settings
    from assistant.speech.tts import load_synthesizer

    synth = load_synthesizer(load_settings({"tts": {"deterministic": True}}))
    speech = np.concatenate([chunk.samples for chunk in synth.stream(REQUEST_TEXT)])
    rate = synth.sample_rate
    silence = np.zeros(int(0.4 * rate), dtype=np.float32)
    tail = np.zeros(int(8.0 * rate), dtype=np.float32)
    return write_wav(
        tmp_path_factory.mktemp("mic") / "request.wav", np.concatenate([silence, speech, tail]), rate
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[str]:
    """The real app with the real default models, served in this process on a free localhost port."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    for key in list(os.environ):
        if key.startswith("ASSISTANT_") and key != "ASSISTANT_CACHE_DIR":
            os.environ.pop(key)

    from assistant.config import load_settings
    from assistant.memory.db import dispose_engine
    from assistant.pipeline import Pipeline
    from ui.app import build_app, launch

    settings = load_settings(
        {
            "data_dir": tmp_path_factory.mktemp("data"),
            "tts": {"deterministic": True},
            "nlu": {"reports_dir": tmp_path_factory.mktemp("no-reports")},  # a first start: none run yet
            "wake": {"enabled": False},  # the fake microphone says requests without the wake word
            "web": {"guest_tabs": True},  # each page is its own user (two users chat at once, apart)
        }
    )
    pipeline = Pipeline(settings)
    pipeline.runtime.warm_up()  # the real default models, loaded once for all the tests
    demo = build_app(pipeline, settings)
    port = _free_port()
    launch(demo, settings, "127.0.0.1", port, block=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        pipeline.runtime.close()
        dispose_engine(settings.database_url)


@pytest.fixture(scope="session")
def browser(chromium_path: str, request_wav: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(
                executable_path=chromium_path,
                args=[*LAUNCH_FLAGS, f"--use-file-for-fake-audio-capture={request_wav}"],
            )
        except Exception as exc:  # a broken install: say so loudly rather than erroring every test
            _skip_loudly(f"Chromium at {chromium_path} does not start: {exc}")
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, app_url: str, artifacts: Path, request: pytest.FixtureRequest):
    """Open the app in a fresh browser context (= a new user); screenshots go to artifacts/browser/."""
    contexts = []

    def open_page(name: str = "page"):
        context = browser.new_context(viewport={"width": 1280, "height": 1100}, permissions=["microphone"])
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.goto(app_url)
        page.locator("#message textarea").wait_for()
        contexts.append((name, page, context))
        return page

    yield open_page
    for name, page, context in contexts:
        try:
            page.screenshot(path=str(artifacts / f"{request.node.name}-{name}.png"), full_page=True)
        finally:
            context.close()
