"""Validating a wireframe-to-Draw.io answer: one well-formed <mxfile> whose edges join cells that exist."""

from __future__ import annotations

import base64
import re
import urllib.parse
import xml.etree.ElementTree as ET
import zlib

from agent.skills.extract import span, without_thinking
from agent.skills.unit import OutputProblem, SkillContext, Validated

_START = re.compile(r"<mxfile[\s>]")
_END = re.compile(r"</mxfile\s*>")


def extract_mxfile(reply: str) -> str:
    """The ``<mxfile>…</mxfile>`` element in a reply (fences and prose around it dropped)."""
    found = span(without_thinking(reply), _START, _END)
    if found is None:
        if "<mxGraphModel" in reply:
            raise OutputProblem("the diagram is not wrapped in <mxfile><diagram>…</diagram></mxfile>")
        raise OutputProblem("no <mxfile>…</mxfile> element found: answer with Draw.io XML only")
    return found


def _graph_model(diagram: ET.Element) -> ET.Element:
    model = diagram.find("mxGraphModel")
    if model is not None:
        return model
    packed = (diagram.text or "").strip()
    if not packed:
        raise OutputProblem("a <diagram> holds no <mxGraphModel>")
    # Draw.io's compressed form: base64 of raw deflate of the URL-encoded XML.
    try:
        inner = urllib.parse.unquote(zlib.decompress(base64.b64decode(packed), -15).decode("utf-8"))
        return ET.fromstring(inner)
    except (ValueError, zlib.error, ET.ParseError, UnicodeDecodeError):
        raise OutputProblem(
            "a <diagram> holds text that is neither XML nor Draw.io's compressed form"
        ) from None


def check_drawio(reply: str, context: SkillContext) -> Validated:
    xml = extract_mxfile(reply)
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        # Entities are how XML bombs work; Draw.io files never need them.
        raise OutputProblem("the XML declares a DOCTYPE or entities; Draw.io files have none")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise OutputProblem(f"the XML is not well-formed: {err}") from None
    diagrams = root.findall("diagram")
    if not diagrams:
        raise OutputProblem("<mxfile> holds no <diagram>")
    problems: list[str] = []
    for number, diagram in enumerate(diagrams, start=1):
        model = _graph_model(diagram)
        if model.tag != "mxGraphModel":
            raise OutputProblem(f"diagram {number} holds <{model.tag}>, not <mxGraphModel>")
        graph_root = model.find("root")
        if graph_root is None:
            problems.append(f"diagram {number}: <mxGraphModel> has no <root>")
            continue
        cells = [c for c in graph_root if c.get("id") is not None]
        ids = [c.get("id") for c in cells]
        duplicates = sorted({i for i in ids if ids.count(i) > 1 and i is not None})
        if duplicates:
            problems.append(f"diagram {number}: cell ids used twice: {', '.join(duplicates[:5])}")
        known = set(ids)
        for cell in graph_root.iter("mxCell"):
            if cell.get("edge") != "1":
                continue
            for end in ("source", "target"):
                ref = cell.get(end)
                if ref is None:
                    problems.append(f"diagram {number}: edge {cell.get('id')!r} has no {end}")
                elif ref not in known:
                    problems.append(
                        f"diagram {number}: edge {cell.get('id')!r} has {end} {ref!r}, no such cell"
                    )
        if not cells:
            problems.append(f"diagram {number}: <root> holds no cells")
    if problems:
        raise OutputProblem("; ".join(problems[:5]))
    return Validated(text=xml + "\n")
