"""Root conftest: load the grokcore claims plugin for every test session in this repository."""

pytest_plugins = ["grokcore.plugin"]
