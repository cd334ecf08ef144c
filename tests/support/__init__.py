"""Test helpers that are real components (servers, files), not mocks."""
