"""The quiz: parsed from the model's Markdown (Chinese or English headings) into a checked structure."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.skills.extract import unfence
from agent.skills.unit import Lang, OutputProblem, SkillContext, Validated

Letter = Literal["A", "B", "C", "D"]
LETTERS: tuple[Letter, ...] = ("A", "B", "C", "D")


class MultipleChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1)
    options: dict[Letter, str]
    answer: Letter


class ShortAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1)
    reference_answer: str = Field(min_length=1)


class Quiz(BaseModel):
    """What ``quiz`` writes as JSON; the Markdown beside it is this, laid out again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    multiple_choice: list[MultipleChoice]
    short_answer: list[ShortAnswer]


_HEADING = re.compile(r"^#{1,6}\s*(.+?)\s*#*\s*$")
_NUMBERED = re.compile(r"^(?:\*\*)?\s*(?:第\s*)?(\d+)\s*(?:[.、)．:：]|题)\s*(.*)$")
_OPTION = re.compile(r"^[-*]?\s*[(（]?([A-Da-d])\s*[.、)）．:：]\s*(.+)$")
_MC_ANSWER = re.compile(
    r"^(?:正确答案|答案|correct answer|answer)\s*[:：]\s*[(（\[]?\s*([A-Da-d])\b", re.IGNORECASE
)
_SA_ANSWER = re.compile(
    r"^(?:参考答案|答案|reference answer|model answer|answer)\s*[:：]\s*(.*)$", re.IGNORECASE
)
_MC_TITLES = ("选择题", "单选题", "multiple choice", "multiple-choice")
_SA_TITLES = ("简答题", "问答题", "short answer", "short-answer")


def _clean(line: str) -> str:
    # Bold markers are layout, not content: "**正确答案**: B" is "正确答案: B".
    return line.replace("**", "").replace("__", "").strip()


def _split_sections(text: str) -> tuple[list[str], list[str]]:
    mc: list[str] = []
    sa: list[str] = []
    current: list[str] | None = None
    for raw in text.splitlines():
        line = _clean(raw)
        heading = _HEADING.match(line)
        if heading:
            title = heading.group(1).lower()
            if any(t in title for t in _MC_TITLES):
                current = mc
            elif any(t in title for t in _SA_TITLES):
                current = sa
            else:
                current = None
            continue
        if current is not None and line:
            current.append(line)
    return mc, sa


def _numbered_blocks(lines: list[str]) -> list[list[str]]:
    """Lines grouped by question: a block starts at "1." / "1、" / "第1题"."""
    blocks: list[list[str]] = []
    for line in lines:
        if _NUMBERED.match(line) and not _OPTION.match(line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    return blocks


def _multiple_choice(number: int, block: list[str]) -> MultipleChoice:
    first = _NUMBERED.match(block[0])
    question = [first.group(2).strip()] if first and first.group(2).strip() else []
    options: dict[Letter, str] = {}
    answers: list[str] = []
    for line in block[1:]:
        answer = _MC_ANSWER.match(line)
        option = _OPTION.match(line)
        if answer:
            answers.append(answer.group(1).upper())
        elif option:
            letter = option.group(1).upper()
            if letter in options:
                raise OutputProblem(f"multiple-choice question {number} gives option {letter} twice")
            options[letter] = option.group(2).strip()  # type: ignore[index]
        elif not options:
            question.append(line)
    text = " ".join(question).strip()
    if not text:
        raise OutputProblem(f"multiple-choice question {number} has no question text")
    if sorted(options) != list(LETTERS):
        have = ", ".join(sorted(options)) or "none"
        raise OutputProblem(f"multiple-choice question {number} needs options A, B, C and D (it has {have})")
    if len(answers) != 1:
        raise OutputProblem(f"multiple-choice question {number} needs exactly one correct-answer letter line")
    return MultipleChoice(question=text, options=options, answer=answers[0])  # type: ignore[arg-type]


def _short_answer(number: int, block: list[str]) -> ShortAnswer:
    first = _NUMBERED.match(block[0])
    question = [first.group(2).strip()] if first and first.group(2).strip() else []
    answer: list[str] | None = None
    for line in block[1:]:
        marker = _SA_ANSWER.match(line)
        if answer is None and marker:
            answer = [marker.group(1).strip()] if marker.group(1).strip() else []
        elif answer is None:
            question.append(line)
        else:
            answer.append(line)
    text = " ".join(question).strip()
    if not text:
        raise OutputProblem(f"short-answer question {number} has no question text")
    if not answer or not " ".join(answer).strip():
        raise OutputProblem(f"short-answer question {number} has no reference answer")
    return ShortAnswer(question=text, reference_answer="\n".join(answer).strip())


def parse_quiz(reply: str) -> Quiz:
    """The quiz in the seed's layout (## 测验题目 / ### 选择题 / ### 简答题) or its English twin."""
    mc_lines, sa_lines = _split_sections(unfence(reply, ("markdown", "md")))
    mc_blocks, sa_blocks = _numbered_blocks(mc_lines), _numbered_blocks(sa_lines)
    if not mc_blocks:
        raise OutputProblem(
            "no multiple-choice questions: give a '### 选择题' / '### Multiple choice' section"
        )
    if not sa_blocks:
        raise OutputProblem("no short-answer questions: give a '### 简答题' / '### Short answer' section")
    return Quiz(
        multiple_choice=[_multiple_choice(i, b) for i, b in enumerate(mc_blocks, start=1)],
        short_answer=[_short_answer(i, b) for i, b in enumerate(sa_blocks, start=1)],
    )


_WORDS: dict[Lang, dict[str, str]] = {
    "zh": {"quiz": "测验题目", "mc": "选择题", "sa": "简答题", "answer": "正确答案", "ref": "参考答案"},
    "en": {
        "quiz": "Quiz",
        "mc": "Multiple choice",
        "sa": "Short answer",
        "answer": "Answer",
        "ref": "Reference answer",
    },
}


def quiz_markdown(quiz: Quiz, lang: Lang) -> str:
    """The quiz laid out in the seed's Markdown, every question and answer the model's own words."""
    w = _WORDS[lang]
    lines = [f"## {w['quiz']}", "", f"### {w['mc']}", ""]
    for i, q in enumerate(quiz.multiple_choice, start=1):
        lines.append(f"{i}. {q.question}")
        lines.extend(f"   {letter}. {q.options[letter]}" for letter in LETTERS)
        lines.extend([f"   {w['answer']}: {q.answer}", ""])
    lines.extend([f"### {w['sa']}", ""])
    for i, s in enumerate(quiz.short_answer, start=1):
        lines.append(f"{i}. {s.question}")
        lines.extend([f"   {w['ref']}: {s.reference_answer}", ""])
    return "\n".join(lines).rstrip() + "\n"


def check_quiz(reply: str, context: SkillContext) -> Validated:
    quiz = parse_quiz(reply)
    data = quiz.model_dump()
    return Validated(
        text=quiz.model_dump_json(indent=2) + "\n", data=data, markdown=quiz_markdown(quiz, context.lang)
    )
