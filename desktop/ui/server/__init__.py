"""The app's side of the API server: its controller, engine lane, Preferences section and request log.

Modules: ``controller`` (starts and stops the in-process server from the
settings), ``lane`` (served jobs through the window's JobRunner),
``settings_group`` (the Preferences section), ``log_panel`` (the request log
and the status-bar indicator).
"""
