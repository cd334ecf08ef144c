"""How the server is bound and guarded: :class:`ServerConfig`, checked before anything listens."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from desktop.core.errors import InvalidParameter

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TEXT_BODY_LIMIT = 1_000_000  # bytes; a prompt of a million characters is already past any context
IMAGE_BODY_LIMIT = 20_000_000
IMAGE_PATHS = ("/v1/images/",)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ServerConfig:
    """``api_key`` is required on any address but loopback; ``allowed_origins`` turns CORS on for them.

    ``switch_models``: a request may load another model into the engine slot (False: it is refused
    while a different model is loaded).  ``max_waiting`` / ``max_waiting_per_client`` bound the queue.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str = ""
    allowed_origins: list[str] = field(default_factory=list)
    switch_models: bool = True
    max_waiting: int = 8
    max_waiting_per_client: int = 4
    text_body_limit: int = TEXT_BODY_LIMIT
    image_body_limit: int = IMAGE_BODY_LIMIT

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def body_limit(self, path: str) -> int:
        return self.image_body_limit if path.startswith(IMAGE_PATHS) else self.text_body_limit

    def validated(self) -> "ServerConfig":
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InvalidParameter(f"Port must be between 1 and 65535 (got {self.port!r}).",
                                   f"{DEFAULT_PORT} is GenLab's default; 0 picks a free one.")
        if not self.loopback and not self.api_key:
            raise InvalidParameter(
                f"Serving on {self.host} lets other machines reach GenLab, so it needs an API key.",
                "Give one with --api-key (clients send it as 'Authorization: Bearer KEY'), "
                f"or serve on {DEFAULT_HOST} only.")
        if self.api_key and (len(self.api_key) < 8 or not self.api_key.isprintable() or " " in self.api_key):
            raise InvalidParameter("The API key must be at least 8 printable characters without spaces.",
                                   "Use a long random string, for example from `python -m secrets`.")
        for origin in self.allowed_origins:
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise InvalidParameter(f"An allowed origin must look like https://host[:port] (got {origin!r}).",
                                       "Give the scheme, host and port a browser page is served from.")
        return self
