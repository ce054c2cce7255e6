"""Which voice speaks a line: Chinese lines get a Chinese voice, the rest the user's (pure, table-tested)."""

from __future__ import annotations

import re

DEFAULT_VOICE = "en"
CHINESE_VOICE = "cmn"  # espeak-ng's Mandarin; it reads Latin letters in a line as English

# CJK ideographs (unified, extension A, compatibility) and CJK punctuation.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def voice_for(text: str, lang: str | None, user_voice: str) -> str:
    """The espeak-ng voice: an explicit ``lang``, else Mandarin for Chinese text, else the user's."""
    if lang:
        return CHINESE_VOICE if lang.lower().startswith("zh") else lang
    if has_cjk(text):
        return CHINESE_VOICE
    return user_voice or DEFAULT_VOICE
