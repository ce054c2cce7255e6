"""Validating prose answers: alt text length, Markdown with the asked-for sections, the article."""

from __future__ import annotations

import re

from agent.skills.extract import unfence
from agent.skills.unit import OutputProblem, SkillContext, Validated

ALT_TEXT_MIN, ALT_TEXT_MAX = 100, 200
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_QUOTES = ('"', "'", "“", "”", "「", "」")


def check_alt_text(reply: str, context: SkillContext) -> Validated:
    """The seed's 100-200 characters, enforced: counted as characters, after fences and quotes."""
    text = " ".join(unfence(reply).split())
    for prefix in ("Alt text:", "alt text:", "Alt-text:", "替代文本:", "替代文本："):
        text = text.removeprefix(prefix).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    if not text:
        raise OutputProblem("the answer is empty")
    if not ALT_TEXT_MIN <= len(text) <= ALT_TEXT_MAX:
        raise OutputProblem(
            f"the description is {len(text)} characters; it must be {ALT_TEXT_MIN}-{ALT_TEXT_MAX}"
        )
    return Validated(text=text + "\n", data={"alt_text": text})


def headings(markdown: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2).strip()) for m in _HEADING.finditer(markdown)]


def sections(markdown: str, level: int) -> list[tuple[str, str]]:
    """(title, body) of every heading of exactly ``level``; the body runs to the next such heading."""
    found = [m for m in _HEADING.finditer(markdown) if len(m.group(1)) == level]
    out: list[tuple[str, str]] = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(markdown)
        out.append((m.group(2).strip(), markdown[m.end() : end].strip()))
    return out


def _normal(title: str) -> str:
    return re.sub(r"[\s:：*_`]+", "", title).lower()


def sectioned_markdown(reply: str, titles: tuple[tuple[str, ...], ...]) -> Validated:
    """Markdown with a non-empty ``##`` section for each entry of ``titles`` (any one spelling of it)."""
    text = unfence(reply, ("markdown", "md"))
    found = {_normal(title): body for title, body in sections(text, 2)}
    missing: list[str] = []
    empty: list[str] = []
    for spellings in titles:
        hit = next((found[_normal(s)] for s in spellings if _normal(s) in found), None)
        if hit is None:
            missing.append(spellings[0])
        elif not hit:
            empty.append(spellings[0])
    problems = [f"the section '## {t}' is missing" for t in missing]
    problems += [f"the section '## {t}' is empty" for t in empty]
    if problems:
        raise OutputProblem("; ".join(problems))
    return Validated(text=text + "\n")


def check_article(reply: str, context: SkillContext) -> Validated:
    """A title, then one ``##`` section with a paragraph per image, and nothing made up around them."""
    text = unfence(reply, ("markdown", "md"))
    titles = [t for level, t in headings(text) if level == 1]
    if len(titles) != 1:
        raise OutputProblem(f"the article needs exactly one '# title' line; it has {len(titles)}")
    parts = sections(text, 2)
    if len(parts) != context.image_count:
        raise OutputProblem(
            f"the article has {len(parts)} '##' sections; "
            f"it needs exactly one per image ({context.image_count})"
        )
    empty = [title for title, body in parts if not body]
    if empty:
        raise OutputProblem(f"the section '## {empty[0]}' has no paragraph")
    data = {"title": titles[0], "sections": [{"heading": t, "paragraph": b} for t, b in parts]}
    return Validated(text=text + "\n", data=data)
