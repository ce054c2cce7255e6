"""Validating a design-to-HTML answer: one HTML document with a head and a body, tags balanced."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from agent.skills.extract import fenced_blocks, span, without_thinking
from agent.skills.unit import OutputProblem, SkillContext, Validated

# Elements without an end tag, and those whose end tag HTML lets the parser imply.
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
OPTIONAL_END = frozenset("p li dt dd option optgroup tr td th thead tbody tfoot colgroup rt rp".split())
_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_END = re.compile(r"</html\s*>", re.IGNORECASE)


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.seen: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        names = [name for name, _ in self.stack]
        if tag not in names:
            self.problems.append(f"line {self.getpos()[0]}: </{tag}> closes nothing that is open")
            return
        while self.stack:
            name, line = self.stack.pop()
            if name == tag:
                return
            if name not in OPTIONAL_END:
                self.problems.append(f"line {line}: <{name}> is never closed (</{tag}> comes first)")


def extract_html(reply: str) -> str:
    """The HTML document in a reply: a fenced html block, else the text from doctype/<html> to </html>."""
    text = without_thinking(reply)
    for tag, body in fenced_blocks(text):
        if tag in ("html", "htm", "") and _START.search(body):
            return body.strip()
    found = span(text, _START, _END)
    if found is not None:
        return found.strip()
    start = _START.search(text)
    if start is not None:  # cut off before </html>: keep it, so the check says so
        return text[start.start() :].strip()
    raise OutputProblem("no HTML document found: answer with one <!DOCTYPE html> document")


def check_html(reply: str, context: SkillContext) -> Validated:
    html = extract_html(reply)
    parser = _Structure()
    parser.feed(html)
    parser.close()
    problems: list[str] = []
    for required in ("html", "head", "body"):
        if required not in parser.seen:
            problems.append(f"the document has no <{required}> element")
    if (
        "head" in parser.seen
        and "body" in parser.seen
        and parser.seen.index("head") > parser.seen.index("body")
    ):
        problems.append("<head> comes after <body>")
    if not _END.search(html):
        problems.append("the document does not end with </html> (cut off?)")
    problems.extend(parser.problems)
    problems.extend(
        f"line {line}: <{name}> is never closed" for name, line in parser.stack if name not in OPTIONAL_END
    )
    if problems:
        raise OutputProblem("; ".join(problems[:5]))
    return Validated(text=html + "\n")
