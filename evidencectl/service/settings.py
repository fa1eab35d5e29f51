"""What one server process needs to know (the same in every worker), and where it keeps its files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..context import Context


@dataclass(frozen=True)
class ServiceSettings:
    """What one server process needs to know; the same in every worker."""

    ctx: Context
    """The data directory (trust store, configuration, registry) and its configuration."""
    max_upload: int = 512 << 20
    """Largest request body accepted, in bytes."""
    idle_timeout: float = 30.0
    """Seconds an upload may stall before it is dropped (408)."""
    verify_rate: int = 60
    """Verifications per ``verify_window`` from one address, counted across every process of the registry
    (0: no limit)."""
    verify_window: float = 60.0
    """Seconds of the rate limit's window."""
    upload_timeout: float = 600.0
    """Seconds a whole upload may take (a client trickling bytes is cut off: 408)."""
    resume_interval: float = 60.0
    """Seconds between two looks for pending deposits to resume (0: never)."""

    @property
    def base(self) -> Path:
        """The data directory's path (``ctx.base``)."""
        return self.ctx.base

    @property
    def service_dir(self) -> Path:
        """The service's own files in the data directory (uploads, packages, certificates, user keys)."""
        return self.ctx.service_dir

    @property
    def upload_dir(self) -> Path:
        """Where request bodies are spooled: the data directory's disk, not a RAM-backed /tmp."""
        return self.service_dir / "uploads"

    @property
    def deposits_dir(self) -> Path:
        """Where the packages of deposits made through the service are published."""
        return self.service_dir / "deposits"

    @property
    def certificates_dir(self) -> Path:
        """Where rendered deposit certificates are kept."""
        return self.service_dir / "certificates"

    def to_environment(self) -> dict[str, str]:
        """The settings as environment variables, for worker processes (see :func:`app_from_environment`)."""
        return {
            "EVIDENCECTL_HOME": str(self.base),
            "EVIDENCECTL_SERVICE_MAX_UPLOAD": str(self.max_upload),
            "EVIDENCECTL_SERVICE_IDLE_TIMEOUT": str(self.idle_timeout),
            "EVIDENCECTL_SERVICE_VERIFY_RATE": str(self.verify_rate),
            "EVIDENCECTL_SERVICE_VERIFY_WINDOW": str(self.verify_window),
            "EVIDENCECTL_SERVICE_UPLOAD_TIMEOUT": str(self.upload_timeout),
            "EVIDENCECTL_SERVICE_RESUME_INTERVAL": str(self.resume_interval),
        }
