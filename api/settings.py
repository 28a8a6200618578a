"""Service settings: ``LIENXA_*`` environment variables and an optional ``.env`` file."""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LIENXA_", env_file=".env", extra="ignore")

    boundaries: Path | None = Field(
        default=None, description="boundaries file (default: data/boundaries/)"
    )
    boundaries_layer: str | None = None
    threads: int | None = Field(
        default=None,
        description="threads for GEOS work when boundaries are loaded and the graph built "
        "(read by geo/parallel.py itself; default: the cores this process may run on, 1: none)",
    )
    population: Path | None = Field(
        default=None,
        description="official population table, CSV code,population,source,date: replaces "
        "the boundaries' figures and clears their suspect flag",
    )
    data_dir: Path = Field(
        default=Path("var"), description="where the SQLite database and secret live"
    )
    database_url: str | None = Field(
        default=None, description="default: SQLite in data_dir; postgresql+psycopg://..."
    )
    secret_key: str | None = Field(
        default=None, description="signs tokens and cookies (default: generated in data_dir)"
    )
    token_minutes: int = 12 * 60
    max_upload_bytes: int = 2 * 1024 * 1024
    max_affected: int = 5000
    plan_time_limit_s: float = Field(
        default=20.0,
        gt=0,
        description="seconds a plan may compute before it is answered 503 plan_time_limit",
    )
    login_max_failures: int = 5
    login_window_minutes: int = 15
    cookie_secure: bool = False
    trusted_proxies: str = Field(
        default="",
        description="proxies (IPs or networks, comma-separated) trusted for X-Forwarded-Proto",
    )
    tile_url: str | None = Field(
        default=None, description="optional base map tiles, e.g. a provincial tile server"
    )
    tile_attribution: str | None = None
    # --- database connections (see docs/operations.md "Sizing the connection pool"):
    # workers x (db_pool_size + db_max_overflow) <= max_connections - db_reserved_connections
    db_pool_size: int = Field(default=5, ge=1, description="connections kept open per worker")
    db_max_overflow: int = Field(
        default=5, ge=0, description="extra connections a worker may open under load"
    )
    db_pool_timeout: float = Field(
        default=5.0,
        gt=0,
        description="seconds a request waits for a free connection before a 503",
    )
    db_reserved_connections: int = Field(
        default=10, ge=0, description="connections left for admins, migrations, backups"
    )
    db_workers: int = Field(
        default=1, ge=1, description="worker processes sharing the database (set by serve)"
    )
    db_pool_check: str = Field(
        default="warn",
        pattern="^(warn|refuse|off)$",
        description="when the pools could exceed max_connections: warn, refuse or off",
    )
    db_pgbouncer: bool = Field(
        default=False,
        description="behind PgBouncer in transaction pooling: no server-side prepared "
        "statements (also ?prepare_threshold=none in the URL)",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After of a 503 when the database is away"
    )
    geodata_cache: bool = Field(
        default=True, description="cache the graph and display geometry in cache_dir"
    )
    cache_dir: Path | None = Field(
        default=None, description="geodata cache (default: data_dir/cache)"
    )
    compression: bool = Field(
        default=True, description="Brotli/gzip on compressible answers (0: off, for measuring)"
    )

    # --- SMS through Kannel (api/services/sms_out.py, api/routes/sms.py)
    sms_send_url: str | None = Field(
        default=None,
        description="Kannel's sendsms URL with username and password; `to` and `text` are "
        "added (unset: SMS wait in the outbox)",
    )
    sms_secret: str | None = Field(
        default=None,
        description="shared secret Kannel's get-url passes to /api/v1/sms/incoming "
        "(unset: incoming SMS are refused)",
    )
    sms_poll_seconds: float = Field(
        default=2.0, gt=0, description="how often the service's sender looks at the outbox"
    )
    sms_sender: bool = Field(
        default=True,
        description="run the outbox sender in the service (else `lienxa sms send-queue`)",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'lienxa.db').resolve()}"

    def resolved_secret(self) -> str:
        """The secret key; generated once and kept in ``data_dir`` when not configured."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        f = self.data_dir / "secret_key"
        try:  # created atomically: processes starting together all end up with the same key
            fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        for _ in range(50):  # another process may have created it and not yet written it
            key = f.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{f} is empty: delete it, or set LIENXA_SECRET_KEY")


@lru_cache
def get_settings() -> Settings:
    """The process's settings (tests build their own and pass them to ``create_app``)."""
    return Settings()
