"""The skills' validators as tables: what each accepts (cut out of fences and prose) and rejects, and why."""

from __future__ import annotations

import base64
import json
import urllib.parse
import zlib

import pytest

from agent.errors import ConfigError
from agent.skills.drawio_check import check_drawio
from agent.skills.html_check import check_html
from agent.skills.progress import Tally, progress_line
from agent.skills.quiz import parse_quiz, quiz_markdown
from agent.skills.registry import get_skill, skills
from agent.skills.social import check_social_post
from agent.skills.text_check import check_alt_text, check_article
from agent.skills.unit import OutputProblem, SkillContext, default_lang

CTX = SkillContext()
PAGE = (
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Shop</title>\n"
    "<style>body { display: flex; color: #333; }</style>\n</head>\n<body>\n"
    "<header><h1>Shop</h1></header>\n<main><p>Item<br><img src=\"a.png\" alt=\"a\"></main>\n"
    "</body>\n</html>"
)


@pytest.mark.parametrize(
    "reply",
    [
        PAGE,
        f"```html\n{PAGE}\n```",
        f"Here is the page you asked for:\n\n```html\n{PAGE}\n```\n\nIt uses flexbox.",
        f"Sure! {PAGE} Let me know if you want changes.",
        f"<think>columns first</think>\n```\n{PAGE}\n```",
    ],
    ids=["bare", "fenced", "fenced-in-prose", "prose-around", "thinking-and-plain-fence"],
)
def test_html_is_cut_out_of_fences_and_prose(reply: str) -> None:
    assert check_html(reply, CTX).text == PAGE + "\n"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("I cannot do that.", "no HTML document"),
        (PAGE.replace("<head>\n", "").replace("</head>\n", ""), "no <head>"),
        (PAGE.replace("<body>\n", "").replace("</body>\n", ""), "no <body>"),
        (PAGE.removesuffix("</html>").replace("</body>\n", ""), "cut off"),
        (PAGE.replace("</header>", ""), "<header> is never closed"),
        (PAGE.replace("</h1>", "</h2>"), "</h2> closes nothing"),
        ("<!DOCTYPE html><html><body><p>x</p></body><head></head></html>", "<head> comes after <body>"),
    ],
    ids=["no-document", "no-head", "no-body", "truncated", "unclosed", "stray-close", "head-after-body"],
)
def test_broken_html_is_rejected_with_the_problem(reply: str, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem.replace("(", r"\(")):
        check_html(reply, CTX)


MXFILE = (
    '<mxfile host="deskpilot"><diagram name="Page-1"><mxGraphModel><root>'
    '<mxCell id="0"/><mxCell id="1" parent="0"/>'
    '<mxCell id="a" value="Login" vertex="1" parent="1"><mxGeometry x="10" y="10" width="80" height="30" as="geometry"/></mxCell>'
    '<mxCell id="b" value="Home" vertex="1" parent="1"><mxGeometry x="10" y="90" width="80" height="30" as="geometry"/></mxCell>'
    '<mxCell id="e1" edge="1" source="a" target="b" parent="1"><mxGeometry relative="1" as="geometry"/></mxCell>'
    "</root></mxGraphModel></diagram></mxfile>"
)


def _compressed(xml: str) -> str:
    inner = xml[xml.index("<mxGraphModel>") : xml.index("</diagram>")]
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = deflate.compress(urllib.parse.quote(inner).encode()) + deflate.flush()
    return f'<mxfile><diagram name="P">{base64.b64encode(packed).decode()}</diagram></mxfile>'


@pytest.mark.parametrize(
    "reply",
    [MXFILE, f"```xml\n{MXFILE}\n```", f"Here is the diagram:\n{MXFILE}\nOpen it in draw.io."],
    ids=["bare", "fenced", "prose"],
)
def test_drawio_is_extracted_and_accepted(reply: str) -> None:
    assert check_drawio(reply, CTX).text == MXFILE + "\n"


def test_drawio_compressed_diagram_is_decoded_and_checked() -> None:
    check_drawio(_compressed(MXFILE), CTX)
    with pytest.raises(OutputProblem, match="target 'zz'"):
        check_drawio(_compressed(MXFILE.replace('target="b"', 'target="zz"')), CTX)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("no diagram here", "no <mxfile>"),
        (MXFILE[MXFILE.index("<mxGraphModel>") : MXFILE.index("</diagram>")], "not wrapped in <mxfile>"),
        (MXFILE.replace("</mxCell><mxCell id=\"b\"", "<mxCell id=\"b\"", 1), "not well-formed"),
        (MXFILE.replace("<root>", "").replace("</root>", ""), "has no <root>"),
        (MXFILE.replace('target="b"', 'target="nowhere"'), "target 'nowhere', no such cell"),
        (MXFILE.replace(' source="a"', ""), "has no source"),
        (MXFILE.replace('id="b"', 'id="a"'), "ids used twice"),
        ('<mxfile><diagram name="x"></diagram></mxfile>', "holds no <mxGraphModel>"),
        # The DOCTYPE falls outside the cut-out <mxfile>, so its entity is never defined.
        ('<!DOCTYPE x [<!ENTITY a "b">]>' + MXFILE.replace('value="Login"', 'value="&a;"'), "undefined entity"),
    ],
    ids=["none", "unwrapped", "malformed", "no-root", "dangling-target", "no-source", "dup-ids", "empty", "entities"],
)
def test_broken_drawio_is_rejected_with_the_problem(reply: str, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem.replace("(", r"\(")):
        check_drawio(reply, CTX)


ALT = "A bar chart on a white background: four blue bars rise from left to right, labelled Q1 to Q4, with the tallest bar, Q4, marked 42 in bold."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (ALT, ALT),
        (f'"{ALT}"', ALT),
        (f"Alt text: {ALT}", ALT),
        (f"```\n{ALT}\n```", ALT),
        ("图" * 100, "图" * 100),
        ("x" * 200, "x" * 200),
    ],
    ids=["plain", "quoted", "labelled", "fenced", "100-cjk", "200"],
)
def test_alt_text_within_100_to_200_characters_is_kept(reply: str, expected: str) -> None:
    assert check_alt_text(reply, CTX).text == expected + "\n"


@pytest.mark.parametrize(("length", "shown"), [(99, "99 characters"), (201, "201 characters"), (0, "empty")])
def test_alt_text_outside_the_range_is_rejected(length: int, shown: str) -> None:
    with pytest.raises(OutputProblem, match=shown):
        check_alt_text("y" * length, CTX)


def _post(caption: str = "Sunrise over the bay", tags: list[str] | None = None, alt: str = "A bay at dawn") -> str:
    return json.dumps({"caption": caption, "hashtags": ["#sunrise", "#bay"] if tags is None else tags, "alt_text": alt})


@pytest.mark.parametrize(
    "reply",
    [_post(), f"```json\n{_post()}\n```", f"Here you go:\n{_post()}\nEnjoy!"],
    ids=["bare", "fenced", "prose"],
)
def test_social_post_json_is_validated(reply: str) -> None:
    data = check_social_post(reply, SkillContext(options={"platform": "twitter"})).data
    assert data == {"caption": "Sunrise over the bay", "hashtags": ["#sunrise", "#bay"], "alt_text": "A bay at dawn"}


@pytest.mark.parametrize(
    ("reply", "platform", "problem"),
    [
        ('{"caption": "x", "hashtags": ["#a"], "alt_text": "y"', "twitter", "no JSON object"),
        ('{"caption": "x", "hashtags": ["#a"], "alt_text": }', "twitter", "invalid JSON"),
        ('{"caption": "x", "hashtags": ["#a"]}', "twitter", "alt_text: Field required"),
        ('{"caption": "x", "hashtags": "#a", "alt_text": "y"}', "twitter", "hashtags: Input should be a valid array"),
        (_post(caption="z" * 270), "twitter", "is 284 characters; twitter allows 280"),
        (_post(tags=["#two words"]), "twitter", "single words"),
        (_post(tags=[f"#t{i}" for i in range(31)]), "instagram", "31 hashtags; instagram allows at most 30"),
        (_post(caption="z" * 2990), "linkedin", "linkedin allows 3000"),
    ],
    ids=["unclosed", "broken", "missing-field", "wrong-type", "long-tweet", "spaced-tag", "many-tags", "long-linkedin"],
)
def test_bad_social_posts_are_rejected(reply: str, platform: str, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem):
        check_social_post(reply, SkillContext(options={"platform": platform}))


def test_a_long_caption_is_fine_on_linkedin_but_not_twitter() -> None:
    reply = _post(caption="w" * 400)
    check_social_post(reply, SkillContext(options={"platform": "linkedin"}))
    with pytest.raises(OutputProblem):
        check_social_post(reply, SkillContext(options={"platform": "twitter"}))


ARTICLE = "# AI at work\n\n## In the factory\n\nRobots weld car frames.\n\n## In the clinic\n\nA scanner reads X-rays.\n"


def test_article_has_one_section_per_image() -> None:
    data = check_article(f"```markdown\n{ARTICLE}```", SkillContext(image_count=2)).data
    assert data == {
        "title": "AI at work",
        "sections": [
            {"heading": "In the factory", "paragraph": "Robots weld car frames."},
            {"heading": "In the clinic", "paragraph": "A scanner reads X-rays."},
        ],
    }


@pytest.mark.parametrize(
    ("reply", "images", "problem"),
    [
        (ARTICLE, 3, "2 '##' sections; it needs exactly one per image \\(3\\)"),
        (ARTICLE + "\n## 总结\n\n本文探讨了人工智能。\n", 2, "3 '##' sections"),
        (ARTICLE.replace("# AI at work\n", ""), 2, "exactly one '# title'"),
        (ARTICLE.replace("A scanner reads X-rays.", ""), 2, "has no paragraph"),
    ],
    ids=["too-few", "invented-conclusion", "no-title", "empty-section"],
)
def test_article_rejections(reply: str, images: int, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem):
        check_article(reply, SkillContext(image_count=images))


EXPLANATION = "## 图表概述\n水的循环。\n## 关键要素\n- 蒸发: 水变成水蒸气\n## 原理解释\n太阳加热。\n## 实际应用\n天气预报。"


@pytest.mark.parametrize(
    ("skill", "reply"),
    [
        ("explain-diagram", EXPLANATION),
        ("explain-diagram", "Sure.\n```markdown\n## Overview\nx\n## Key elements\n- a: b\n## How it works\ny\n## Applications\nz\n```"),
        ("check-homework", "## 总体评价\n不错\n## 正确部分\n- 第1题\n## 需要改进部分\n- 第2题进位错误\n## 学习建议\n多练习"),
        ("check-homework", "## Overall:\nGood\n## What is right\n- Q1\n## What to improve\n- Q2\n## Study advice\nPractise"),
    ],
    ids=["diagram-zh", "diagram-en-fenced", "homework-zh", "homework-en"],
)
def test_sectioned_markdown_in_either_language(skill: str, reply: str) -> None:
    get_skill(skill).validate(reply, CTX)


def test_sectioned_markdown_names_missing_and_empty_sections() -> None:
    with pytest.raises(OutputProblem, match=r"'## 实际应用' is missing"):
        get_skill("explain-diagram").validate(EXPLANATION.replace("## 实际应用\n天气预报。", ""), CTX)
    with pytest.raises(OutputProblem, match=r"'## 原理解释' is empty"):
        get_skill("explain-diagram").validate(EXPLANATION.replace("太阳加热。", ""), CTX)


# The seed guide's own layout (section 3.3 of ../shared/seed), with answers filled in.
SEED_QUIZ = """## 测验题目
### 选择题
1. 光合作用主要发生在植物细胞的哪个部位?
A. 细胞核
B. 叶绿体
C. 线粒体
D. 细胞壁
正确答案: B
2. 光合作用释放的气体是
A. 氧气
B. 二氧化碳
C. 氮气
D. 氢气
正确答案:A
### 简答题
1. 简述光合作用的意义。
参考答案: 为生物提供有机物和氧气,维持碳氧平衡。
"""

ENGLISH_QUIZ = """Here is your quiz.

## Quiz
### Multiple choice
1. Where does photosynthesis mainly happen?
   A) Nucleus
   B) Chloroplast
   C) Mitochondrion
   D) Cell wall
   **Answer:** B
### Short answer
1. Why does photosynthesis matter?
   Reference answer: It makes sugar and oxygen.
   It also stores the sun's energy.
2. What gas do plants take in?
   Reference answer: Carbon dioxide.
"""


def test_quiz_parses_the_seed_layout_with_chinese_headings() -> None:
    quiz = parse_quiz(SEED_QUIZ)
    assert [q.answer for q in quiz.multiple_choice] == ["B", "A"]
    assert quiz.multiple_choice[0].question == "光合作用主要发生在植物细胞的哪个部位?"
    assert quiz.multiple_choice[0].options == {"A": "细胞核", "B": "叶绿体", "C": "线粒体", "D": "细胞壁"}
    assert [s.reference_answer for s in quiz.short_answer] == ["为生物提供有机物和氧气,维持碳氧平衡。"]


def test_quiz_parses_an_english_layout() -> None:
    quiz = parse_quiz(f"```markdown\n{ENGLISH_QUIZ}```")
    assert quiz.multiple_choice[0].options["D"] == "Cell wall"
    assert quiz.multiple_choice[0].answer == "B"
    assert [s.question for s in quiz.short_answer] == ["Why does photosynthesis matter?", "What gas do plants take in?"]
    assert quiz.short_answer[0].reference_answer == "It makes sugar and oxygen.\nIt also stores the sun's energy."


def test_quiz_markdown_round_trips_through_the_parser() -> None:
    quiz = parse_quiz(SEED_QUIZ)
    for lang in ("zh", "en"):
        assert parse_quiz(quiz_markdown(quiz, lang)) == quiz


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (SEED_QUIZ.replace("D. 细胞壁\n", ""), "question 1 needs options A, B, C and D \\(it has A, B, C\\)"),
        (SEED_QUIZ.replace("正确答案: B\n", ""), "question 1 needs exactly one correct-answer"),
        (SEED_QUIZ.replace("正确答案: B", "正确答案: B\n正确答案: C"), "exactly one correct-answer"),
        (SEED_QUIZ.replace("参考答案: 为生物提供有机物和氧气,维持碳氧平衡。", ""), "short-answer question 1 has no reference answer"),
        (SEED_QUIZ.split("### 简答题")[0], "no short-answer questions"),
        ("## 测验题目\n没有题目", "no multiple-choice questions"),
        (SEED_QUIZ.replace("正确答案: B", "正确答案: E"), "correct-answer"),
    ],
    ids=["three-options", "no-answer", "two-answers", "no-reference", "no-short", "no-mc", "letter-e"],
)
def test_quiz_rejections(reply: str, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem):
        parse_quiz(reply)


def test_every_shipped_skill_is_found_with_prompts_in_both_languages() -> None:
    found = skills()
    assert set(found) == {
        "design-to-html", "wireframe-to-drawio", "alt-text", "social-post", "article",
        "explain-diagram", "check-homework", "quiz",
    }
    for skill in found.values():
        options = skill.resolve({})
        for lang in ("zh", "en"):
            prompt = skill.prompt(lang, options)
            assert all(value in prompt for value in options.values()), (skill.name, lang)


@pytest.mark.parametrize(
    ("skill", "given", "error"),
    [
        ("explain-diagram", {"grade": "phd"}, "--grade: 'phd' is not one of elementary"),
        ("quiz", {"difficulty": "extreme"}, "--difficulty"),
        ("alt-text", {"platform": "twitter"}, "alt-text takes no --platform"),
        ("check-homework", {"subject": "  "}, "--subject must not be empty"),
    ],
)
def test_option_mistakes_are_config_errors(skill: str, given: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        get_skill(skill).resolve(given)


def test_options_fall_back_to_defaults() -> None:
    assert get_skill("quiz").resolve({"topic": "cells", "difficulty": None}) == {"topic": "cells", "difficulty": "medium"}


@pytest.mark.parametrize(
    ("env", "lang"),
    [({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"), ({}, "en"), ({"LC_ALL": "zh_TW", "LANG": "C"}, "zh")],
)
def test_prompt_language_follows_the_locale(env: dict[str, str], lang: str) -> None:
    assert default_lang(env) == lang


@pytest.mark.parametrize(
    ("tally", "line"),
    [
        (Tally(12, 0, 0, 0.0), "[------------------------] 0/12: 0 done, 0 failed, 0.00 img/s, time left unknown"),
        (Tally(12, 5, 1, 3.0), "[############------------] 6/12: 5 done, 1 failed, 2.00 img/s, 3s left"),
        (Tally(12, 11, 1, 90.0), "[########################] 12/12: 11 done, 1 failed, 0.13 img/s, took 1m30s"),
    ],
)
def test_progress_line(tally: Tally, line: str) -> None:
    assert progress_line(tally) == line
