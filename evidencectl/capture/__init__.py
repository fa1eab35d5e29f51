"""Web capture (网页取证): record a page with a real browser and deposit the record as evidence."""

from __future__ import annotations

from .model import STAGES, CaptureOptions
from .run import CaptureResult, capture

__all__ = ["STAGES", "CaptureOptions", "CaptureResult", "capture"]
