"""Accessibility on the run core: speech, reading the screen (OCR), describing it, click by name."""
