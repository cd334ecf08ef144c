"""Errors a person can meet while finding, downloading and managing models."""

from __future__ import annotations

from desktop.core.errors import GenLabError, ModelFileError


class HubError(GenLabError):
    """The hub answered with an error, or could not be reached."""


class HubOffline(HubError):
    """The hub cannot be reached (no network, offline mode, timeout)."""


class HubUnavailable(HubError):
    """The hub answered, but with a temporary failure (429 or 5xx): worth trying again later."""


class NotOnHub(HubError):
    """A repo, revision or file does not exist on the hub."""


class TokenRequired(HubError):
    """A gated or private repo needs an access token (or a better one)."""


class NotAHubUrl(HubError):
    """Text that is neither a repo id nor a hub URL."""


class DownloadError(GenLabError):
    """A transfer failed after its retries, or could not start."""


class DownloadBusy(DownloadError):
    """Another GenLab process is downloading this file now; its entry is that process's to keep."""


class RetriesExhausted(DownloadError):
    """A transfer gave up after its automatic retries (connection lost, stalled, server errors).

    The partial file is kept: trying again later continues where it stopped.
    """


class DiskFull(DownloadError):
    """Not enough free space for a download or an import."""


class ChecksumMismatch(DownloadError):
    """The downloaded bytes do not match the hub's hash; the file was deleted."""


class ModelsDirError(GenLabError):
    """The models folder cannot be written (read-only filesystem, permissions)."""

    @classmethod
    def require_writable(cls, folder, hint: str) -> None:
        """Make ``folder`` if needed and prove it writable, else raise one of these: its OS reason, the
        folder named once, ``hint`` for what to do."""
        from desktop.core import paths

        try:
            paths.ensure_writable_dir(folder, "models folder")
        except Exception as exc:
            cause = exc.__cause__
            reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else getattr(exc, "message", exc)
            raise cls(f"Cannot write to the models folder {folder}: {str(reason).rstrip('.')}.", hint) from exc


class ImportRejected(ModelFileError):
    """A file or folder offered for import is not a model GenLab can use."""


class ModelInUse(GenLabError):
    """A model is loaded and cannot be deleted until it is unloaded."""


class UnknownModel(GenLabError):
    """No model in the library matches the given id."""
