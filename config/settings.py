"""Process-wide settings from the environment (``DECLSCAN_*``; ``REDIS_URL`` and ``DATABASE_URL``).

Call ``get_settings()`` at the edges (CLI, worker start, web app factory) and hand the pieces
to what needs them; nothing builds settings at import time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from declscan.config.options import InputLimits, LineCheckOptions, OcrOptions, PipelineOptions


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DECLSCAN_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="embedded default home of all state")
    inbox_dir: Path | None = None
    outbox_dir: Path | None = None
    quarantine_dir: Path | None = None
    redis_url: str = Field(default="redis://127.0.0.1:6379/0",
                           validation_alias=AliasChoices("REDIS_URL", "DECLSCAN_REDIS_URL"))
    database_url: str | None = Field(default=None,
                                     validation_alias=AliasChoices("DATABASE_URL", "DECLSCAN_DATABASE_URL"))
    published_stream: str = "declscan:published"
    watch_polling: bool = Field(default=False, description="poll the inbox instead of inotify: for NFS/SMB "
                                "shares, where inotify misses files written by other hosts")
    ocr: OcrOptions = Field(default_factory=OcrOptions)
    limits: InputLimits = Field(default_factory=InputLimits)
    flag_threshold: float = 0.90
    line_check: LineCheckOptions = Field(default_factory=LineCheckOptions)
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    review_claim_minutes: int = Field(default=15, ge=1, description="how long opening a document claims it")
    secret_key: str | None = Field(default=None, description="signs sessions; made in data_dir if unset")

    @property
    def inbox(self) -> Path:
        return self.inbox_dir or self.data_dir / "inbox"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def quarantine(self) -> Path:
        return self.quarantine_dir or self.data_dir / "quarantine"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'declscan.db').resolve()}"

    def pipeline_options(self) -> PipelineOptions:
        return PipelineOptions(limits=self.limits, flag_threshold=self.flag_threshold,
                               line_check=self.line_check)


@cache
def get_settings() -> Settings:
    return Settings()
