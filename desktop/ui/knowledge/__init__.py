"""The Knowledge workspace: document collections for grounded chat, indexed and searched."""
