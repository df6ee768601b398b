"""Typed settings, from (lowest to highest) defaults, a TOML file, ASSISTANT_* env vars and CLI flags.

One object, passed explicitly to whatever needs it; there is no module-level settings singleton.
Nested values use a double underscore in env vars: ``ASSISTANT_ASR__BACKEND=whisper``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "assistant"
ENV_PREFIX = "ASSISTANT_"
CONFIG_ENV = "ASSISTANT_CONFIG"
DEFAULT_CONFIG_FILE = Path("assistant.toml")


class ASRSettings(BaseModel):
    backend: str = "faster-whisper"
    model: str = Field("tiny.en", description="Whisper size name, 'base' (offline package) or a local path")
    compute_type: str = Field("auto", description="auto: int8 on CPU, float16 on CUDA")
    beam_size: int = Field(1, ge=1, le=10, description="1 = greedy, fastest for short commands")
    language: str | None = "en"
    vad_trim: bool = True
    timestamps: bool = Field(False, description="segment times (slower); off = one per 30 s window")
    fit_window: bool = Field(
        True,
        description="faster-whisper: encode a short clip in a window fitted to it, not Whisper's fixed 30 s",
    )
    min_window_s: int = Field(
        8,
        ge=4,
        le=30,
        description="faster-whisper: the shortest fitted window; longer hears real short commands better "
        "(base: 16) at more encoder time",
    )
    prompt: str | None = Field(
        None,
        max_length=1000,
        description="text the decoder reads as what came before (Whisper's initial prompt): a style and "
        "vocabulary hint; None = none",
    )


class NLUSettings(BaseModel):
    model: str = Field(
        "lstm", description="product model (`assistant nlu list`) or a folder saved by `assistant nlu train`"
    )
    threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="below it a request goes to the generator; None = tuned value"
    )
    data_dir: Path | None = Field(
        None, description="folder with the benchmark datasets; None = ../shared/data beside the repo"
    )
    reports_dir: Path = Field(
        Path("reports/nlu"), description="where the NLU lab reads `assistant nlu compare` reports from"
    )


class GeneratorSettings(BaseModel):
    backend: str = "smollm2-135m"
    model: str | None = Field(None, description="HF id or path for the `hf` backend; model name for an API")
    url: str | None = Field(None, description="base URL of an OpenAI-compatible server")
    api_key: SecretStr | None = None
    runtime: str = Field(
        "auto",
        description="smollm2-135m: auto = llama.cpp (8-bit GGUF) on CPU when installed, else transformers; "
        "or llama.cpp / transformers",
    )
    dtype: str = Field("auto", description="transformers runtime: auto, float32, bfloat16, float16 or int8")
    max_new_tokens: int = Field(96, ge=1, le=2048)
    temperature: float = Field(0.3, ge=0.0, le=2.0, description="0 = greedy; SmolLM2 suggests low values")
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.1, ge=1.0, le=2.0, description="1 = off; small models loop")
    history_turns: int = Field(6, ge=0, le=50)
    recall: bool = Field(
        True, description="bring the user's earlier turns (any conversation) into the prompt"
    )
    recall_turns: int = Field(3, ge=0, le=20, description="at most this many recalled earlier turns")
    recall_tokens: int = Field(160, ge=0, le=4096, description="the recalled turns' prompt budget (tokens)")
    recall_min_score: float = Field(0.25, ge=-1.0, le=1.0, description="cosine below this is not recalled")
    max_input_tokens: int = Field(1024, ge=64, le=131072, description="prompt cap, oldest turns cut")
    timeout_s: float = Field(60.0, gt=0.0, description="openai-compatible: seconds to wait for the server")


class TTSSettings(BaseModel):
    backend: str = "piper"
    voice: str | None = Field(None, description="Piper .onnx path or Coqui model name; None = default voice")
    length_scale: float = Field(1.0, gt=0.1, le=5.0)
    deterministic: bool = Field(False, description="noise scales 0: same text, same audio (tests)")


class AudioSettings(BaseModel):
    max_seconds: float = Field(60.0, gt=0.0)
    min_seconds: float = Field(0.1, ge=0.0, description="a spoken digit can be 0.2 s")
    max_upload_mb: float = Field(50.0, gt=0.0)
    end_silence_ms: int = Field(
        500,
        ge=150,
        le=3000,
        description="hands-free: this much silence ends an utterance (shorter = snappier)",
    )
    early_end_ms: int = Field(
        300,
        ge=0,
        le=3000,
        description="hands-free: silence that ends an utterance whose words already make a whole request "
        "(heard ahead, confident NLU, not trailing off on 'and', 'for', ...) when the end-of-turn model "
        "gives no verdict; 0 = never by the words alone",
    )
    turn_model: bool = Field(
        True,
        description="hands-free: at a pause, Smart Turn v3.2 (from pipecat-ai) hears whether the turn is "
        "over; off = the words alone decide (early_end_ms)",
    )
    turn_threshold: float = Field(
        0.5, gt=0.0, lt=1.0, description="end-of-turn model: this probability or more means finished"
    )
    turn_end_ms: int = Field(
        150,
        ge=0,
        le=3000,
        description="hands-free: silence that ends a turn the model calls finished and whose words make a "
        "whole request (never sooner than the ~190 ms of tail an utterance keeps)",
    )


class WakeSettings(BaseModel):
    """Hands-free listening waits for a wake word, then takes the request that follows."""

    enabled: bool = Field(
        True, description="hands-free waits for the wake word; off = every utterance is heard"
    )
    backend: str = Field(
        "micro",
        description="micro (pymicro-wakeword, offline) or openwakeword (optional, CC BY-NC-SA models)",
    )
    model: str = Field(
        "alexa",
        description="micro: alexa, hey_jarvis, hey_mycroft, okay_nabu, or a microWakeWord .json (its .tflite "
        "beside it)",
    )
    threshold: float | None = Field(None, gt=0.0, lt=1.0, description="None = the model's own cut-off")
    request_s: float = Field(
        8.0, gt=0.0, le=60.0, description="after the wake word, wait this long for speech"
    )
    follow_up_s: float = Field(
        5.0, ge=0.0, le=60.0, description="after a reply, listen this long without the wake word (0 = off)"
    )
    earcon: bool = Field(True, description="a short chime when the wake word is heard")


class HomeAssistantSettings(BaseModel):
    url: str | None = None
    token: SecretStr | None = None


class AuthSettings(BaseModel):
    username: str | None = None
    password: SecretStr | None = None
    disable: bool = Field(False, description="serve on a public interface without auth (you were warned)")
    min_password_chars: int = Field(
        12, ge=1, description="shortest password accepted when the server is exposed"
    )
    max_failures: int = Field(5, ge=1, description="failed sign-ins per client before a pause (it doubles)")
    account_max_failures: int = Field(
        20, ge=1, description="failed sign-ins to one account, from any client, before it is paused"
    )
    lockout_s: float = Field(60.0, gt=0.0, description="the first pause after too many failed sign-ins")
    api_token: SecretStr | None = Field(
        None,
        description="bearer token for the OpenAI-compatible API under /v1; None = auth.password. Required "
        "whenever the server is reachable from other machines",
    )


class WebSettings(BaseModel):
    """What one client of the web app may cost: every request, session and upload is bounded."""

    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="extra Host names the server answers to (localhost names and the bound address always "
        "are); ['*'] answers any (only behind a proxy that checks Host)",
    )
    max_body_mb: float = Field(4.0, gt=0.0, description="largest request body except uploads")
    max_text_chars: int = Field(20_000, ge=1, description="longest message typed into the page")
    upload_quota_mb: float = Field(300.0, gt=0.0, description="upload bytes per client per hour")
    max_sessions: int = Field(200, ge=1, description="browser tabs whose state is kept; oldest dropped")
    session_ttl_s: float = Field(
        6 * 3600.0, gt=0.0, description="a tab's state is freed after this idle time"
    )
    chat_messages_kept: int = Field(200, ge=2, description="chat messages a tab keeps (all stay in History)")
    chat_chars_kept: int = Field(
        200_000, ge=1_000, description="characters of chat a tab keeps, newest first (all stay in History)"
    )
    upload_max_age_s: float = Field(3600.0, gt=0.0, description="uploaded files are deleted after this")
    workers: int = Field(
        1,
        ge=0,
        le=16,
        description="web app processes (one per core scales typed turns with the cores; each loads its own "
        "models and takes the next port); 0 = one per CPU core. See README, 'Scaling'",
    )
    turn_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="turns the web app runs at once across all tabs; the rest wait in its queue",
    )
    guest_tabs: bool = Field(
        False,
        description="without sign-in, each page load is its own throwaway user (demos, load tests); off = "
        "on localhost every tab acts for `owner` (an exposed server without sign-in always uses guests)",
    )


class WyomingSettings(BaseModel):
    """`assistant wyoming`: the assistant's speech, wake word and whole dialog for Home Assistant's Wyoming
    integration. The protocol has no login, so it listens on localhost unless told otherwise."""

    enabled: bool = Field(
        False,
        description="`assistant serve` also starts the Wyoming server (`assistant wyoming` always does)",
    )
    uri: str = Field(
        "tcp://127.0.0.1:10700",
        description="tcp://HOST:PORT or unix://PATH; a host other than localhost needs --insecure-no-auth "
        "(or auth.disable): Wyoming has no login",
    )
    user: str | None = Field(
        None, description="the memory's user for requests from Home Assistant; None = `owner`"
    )
    max_connections: int = Field(16, ge=1, le=1024, description="clients served at once; more are refused")
    idle_timeout_s: float = Field(
        120.0, gt=0.0, description="a connection that sends nothing for this long is closed"
    )
    max_text_chars: int = Field(
        10_000, ge=1, description="longest text one request may ask to synthesize or handle"
    )


class Settings(BaseSettings):
    """Every knob of the assistant. `assistant config show` prints it with the source of each value."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    device: Literal["auto", "cpu", "cuda"] = "auto"
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir(APP_NAME)))
    cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir(APP_NAME)))
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite file in data_dir")
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    share: bool = False
    timezone: str | None = Field(None, description="IANA zone for skills; None = the system's")
    owner: str = Field(
        default_factory=lambda: default_owner(),
        min_length=1,
        description="who the assistant acts for on this machine without sign-in: the web app, chat, talk "
        "and the API share this user's memory (default: your login name)",
    )
    asr: ASRSettings = ASRSettings()
    nlu: NLUSettings = NLUSettings()
    generator: GeneratorSettings = GeneratorSettings()
    tts: TTSSettings = TTSSettings()
    audio: AudioSettings = AudioSettings()
    wake: WakeSettings = WakeSettings()
    home_assistant: HomeAssistantSettings = HomeAssistantSettings()
    auth: AuthSettings = AuthSettings()
    web: WebSettings = WebSettings()
    wyoming: WyomingSettings = WyomingSettings()

    @field_validator("owner")
    @classmethod
    def _owner_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("owner must name someone (default: your login name)")
        return value.strip()

    @model_validator(mode="after")
    def _derive_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir.expanduser() / 'assistant.db'}"
        self.wyoming.user = (self.wyoming.user or "").strip() or self.owner  # one owner through every door
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return tuple(source for _, source in _sources(settings_cls, init_settings))

    def resolved_device(self) -> str:
        """'cuda' when asked for or (auto) available, else 'cpu'."""
        from assistant.device import pick_device

        return pick_device(self.device)


def default_owner() -> str:
    """The login name of whoever runs the assistant (the owner's user in the memory)."""
    import getpass

    try:
        return getpass.getuser() or "me"
    except Exception:  # no login name (some containers): still one stable owner
        return "me"


def config_file() -> Path | None:
    """The TOML file in use: $ASSISTANT_CONFIG, else ./assistant.toml if it exists."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} points to {path}, which is not a file.")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class ConfigError(ValueError):
    """A settings problem the user can fix; the message says how."""


def _sources(
    settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource
) -> list[tuple[str, PydanticBaseSettingsSource]]:
    """Sources from highest to lowest priority, each with the label `config show` prints."""
    sources: list[tuple[str, PydanticBaseSettingsSource]] = [
        ("cli", init_settings),
        ("env", EnvSettingsSource(settings_cls)),
    ]
    path = config_file()
    if path is not None:
        sources.append((f"toml:{path}", TomlConfigSettingsSource(settings_cls, toml_file=path)))
    return sources


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings; `overrides` are CLI flags as a (possibly nested) dict, None values skipped."""
    try:
        return Settings(**_drop_none(dict(overrides or {})))
    except ConfigError:
        raise
    except Exception as exc:  # pydantic ValidationError, TOML syntax errors
        raise ConfigError(f"Invalid settings: {exc}") from exc


@dataclass(frozen=True)
class SettingValue:
    key: str
    value: Any
    source: str


def explain(overrides: Mapping[str, Any] | None = None) -> list[SettingValue]:
    """Every leaf setting with its effective value and the source that set it (cli/env/toml/default)."""
    settings = load_settings(overrides)
    init = InitSettingsSource(Settings, init_kwargs=_drop_none(dict(overrides or {})))
    provided: dict[str, str] = {}
    for label, source in reversed(_sources(Settings, init)):
        for key in _flatten(source()):
            provided[key] = label  # later (higher priority) sources overwrite
    rows = []
    for key, value in _flatten(settings.model_dump()).items():
        source = provided.get(key, "default")
        if key == "database_url" and source == "default":
            source = "default (from data_dir)"
        rows.append(SettingValue(key, _redact(key, value), source))
    return rows


def _redact(key: str, value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "**********"
    if key.endswith(("password", "token", "api_key")) and value:
        return "**********"
    return str(value) if isinstance(value, Path) else value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, BaseModel):
            flat.update(_flatten(value.model_dump(), f"{name}."))
        else:
            flat[name] = value
    return flat


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if not value:
                continue
        if value is not None:
            clean[key] = value
    return clean


def web_processes(settings: Settings) -> int:
    """How many web processes `assistant serve` runs: `web.workers`, 0 meaning one per CPU core it may use."""
    import os

    wanted = settings.web.workers
    if wanted == 0:
        wanted = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(16, wanted))
