"""agi-callbot: a self-hosted callbot engine for Asterisk (FastAGI + YAML flows)."""

__version__ = "0.1.0"
