"""check-homework: feedback on a page of homework, in the seed's four sections."""

from __future__ import annotations

from agent.skills.text_check import sectioned_markdown
from agent.skills.unit import Skill, SkillContext, SkillOption, Validated

SECTIONS = (
    ("总体评价", "Overall"),
    ("正确部分", "What is right"),
    ("需要改进部分", "What to improve"),
    ("学习建议", "Study advice"),
)


def check_feedback(reply: str, context: SkillContext) -> Validated:
    return sectioned_markdown(reply, SECTIONS)


SKILL = Skill(
    name="check-homework",
    summary="homework checked: overall verdict, what is right, what to improve, study advice",
    output="markdown",
    validate=check_feedback,
    max_new_tokens=800,
    options=(SkillOption("subject", "the homework's subject (math, language, science...)", "math"),),
    prompts={
        "zh": """检查这份{subject}作业并提供反馈。
(math: 重点关注解题步骤和计算准确性; language: 检查语法、修辞和文章结构; science: 验证科学概念和实验方法的正确性)
按照以下格式提供反馈:
## 总体评价
[整体评价]
## 正确部分
- [正确内容1]
- [正确内容2]
## 需要改进部分
- [问题1及改进建议]
- [问题2及改进建议]
## 学习建议
[具体学习建议]""",
        "en": """Check this {subject} homework and give feedback.
(math: the steps and the arithmetic; language: grammar, style and structure; science: the concepts and the method)
Use exactly this format:
## Overall
[overall verdict]
## What is right
- [correct part 1]
- [correct part 2]
## What to improve
- [problem 1 and how to fix it]
- [problem 2 and how to fix it]
## Study advice
[concrete advice]""",
    },
)
