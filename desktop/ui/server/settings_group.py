"""The "API server" section of Preferences: serve an OpenAI-compatible API from the app.

:class:`ServerGroup` edits a :class:`ServerSettings` and the API key.  The key
is shown from and handed back for the OS keyring, never written to the
settings.  ``problem()`` says in words what stops the server from starting
with the values on screen (an address other than loopback without a key, a
port another program holds, a malformed key or origin), so the dialog can keep
itself open and show it.
"""

from __future__ import annotations

import errno
import secrets
import socket

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.server.config import DEFAULT_HOST, ServerConfig, is_loopback
from desktop.core.settings import ServerSettings


def bind_problem(host: str, port: int) -> str:
    """Why listening on ``host:port`` would fail now (another program holds the port...), or ""."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"Port {port} on {host} is in use by another program: choose another port, "
                        "or 0 for any free one.")
            return (f"GenLab cannot listen on {host}:{port} ({exc.strerror or exc}): give an address "
                    f"of this machine, such as {DEFAULT_HOST} or 0.0.0.0.")
    return ""


class ServerGroup(QGroupBox):
    """The API server's settings (see the module docstring).

    ``serving``: the "host:port" the app's server listens on now, which is
    in use by GenLab itself and so no problem.
    """

    def __init__(self, settings: ServerSettings, api_key: str, serving: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__("API server", parent)
        self.serving = serving
        form = QFormLayout(self)
        self.enabled = QCheckBox("Serve an OpenAI-compatible API")
        self.enabled.setChecked(settings.enabled)
        self.enabled.setToolTip("Other apps on this machine (or, with a key, on your network) use "
                                "GenLab's models; their requests are recorded in the history.")
        self.host = QLineEdit(settings.host)
        self.host.setPlaceholderText(DEFAULT_HOST)
        self.host.setToolTip(f"{DEFAULT_HOST}: this machine only. 0.0.0.0 or a network address lets "
                             "other machines in, and needs an API key.")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("any free port")
        self.port.setValue(settings.port)
        self.api_key = QLineEdit(api_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("none (loopback only)")
        self.api_key.setToolTip("Clients send it as 'Authorization: Bearer KEY'. Kept in the OS keyring.")
        new_key = QPushButton("New key")
        new_key.clicked.connect(self._new_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(new_key)
        self.origins = QLineEdit(" ".join(settings.allowed_origins))
        self.origins.setPlaceholderText("none (no web page may call it)")
        self.origins.setToolTip("Web pages allowed to call the API from a browser, e.g. "
                                "http://localhost:3000; separate several with spaces.")
        self.no_switch = QCheckBox("Don't switch models for API calls")
        self.no_switch.setChecked(not settings.switch_models)
        self.no_switch.setToolTip("A request for another model than the loaded one is refused "
                                  "instead of loading it.")
        self.message = QLabel("")
        self.message.setObjectName("apiServerProblem")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#c0392b")
        self.message.hide()
        form.addRow("", self.enabled)
        form.addRow("Address", self.host)
        form.addRow("Port", self.port)
        form.addRow("API key", key_row)
        form.addRow("Allowed origins", self.origins)
        form.addRow("", self.no_switch)
        form.addRow(self.message)

    def _new_key(self) -> None:
        self.api_key.setText(secrets.token_urlsafe(24))
        self.api_key.setEchoMode(QLineEdit.EchoMode.Normal)  # a new key is shown once, to copy into the client

    def values(self) -> ServerSettings:
        return ServerSettings(enabled=self.enabled.isChecked(), host=self.host.text().strip() or DEFAULT_HOST,
                              port=self.port.value(), allowed_origins=self.origins.text().split(),
                              switch_models=not self.no_switch.isChecked())

    def key(self) -> str:
        return self.api_key.text().strip()

    def problem(self) -> str:
        """Why the server could not start with these values, in words; "" when it can (or is off)."""
        s = self.values()
        if not s.enabled:
            return ""
        if not is_loopback(s.host) and not self.key():
            return (f"Serving on {s.host} lets other machines reach GenLab, so it needs an API key: "
                    f"give one (or press New key), or serve on {DEFAULT_HOST} only.")
        try:
            ServerConfig(host=s.host, port=s.port, api_key=self.key(),
                         allowed_origins=s.allowed_origins).validated()
        except GenLabError as exc:
            return str(exc)
        address = f"{s.host}:{s.port}"
        if address == self.serving:  # GenLab's own server holds it
            return ""
        return bind_problem(s.host, s.port)

    def show_problem(self) -> bool:
        """Show ``problem()`` under the fields; True when there is one."""
        text = self.problem()
        self.message.setText(text)
        self.message.setVisible(bool(text))
        return bool(text)
