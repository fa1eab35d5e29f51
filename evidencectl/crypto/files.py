"""Atomic, never-overwriting file writes for keys, certificates and trust anchors: evidencectl/atomic.py's
helper, the one every module uses."""

from ..atomic import write_new_file

__all__ = ["write_new_file"]
