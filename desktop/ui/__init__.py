"""All Qt code.  Depends on ``desktop.core``; the core never depends on this."""
