"""GenLab: local text and image generation with one searchable history."""

__version__ = "0.1.0"
APP_NAME = "GenLab"
