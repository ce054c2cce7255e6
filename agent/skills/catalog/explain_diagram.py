"""explain-diagram: a diagram explained for a school grade, in the seed's four sections."""

from __future__ import annotations

from agent.skills.text_check import sectioned_markdown
from agent.skills.unit import Skill, SkillContext, SkillOption, Validated

GRADES = ("elementary", "middle_school", "high_school", "college")
SECTIONS = (
    ("图表概述", "Overview"),
    ("关键要素", "Key elements"),
    ("原理解释", "How it works"),
    ("实际应用", "Applications"),
)


def check_explanation(reply: str, context: SkillContext) -> Validated:
    return sectioned_markdown(reply, SECTIONS)


SKILL = Skill(
    name="explain-diagram",
    summary="a diagram explained step by step for a grade (overview, key elements, how it works, uses)",
    output="markdown",
    validate=check_explanation,
    max_new_tokens=1000,
    options=(SkillOption("grade", "the reader's level", "middle_school", GRADES),),
    prompts={
        "zh": """请解释这张图表的内容和原理。
要求:
1. 读者水平: {grade}(elementary: 使用简单语言,适合小学生; middle_school: 中等难度,适合中学生; high_school: 较高难度,包含专业术语; college: 专业水平,深入讲解原理)
2. 分步骤讲解
3. 突出重点概念
4. 提供实际应用例子
5. 确保解释准确无误
按照以下格式输出:
## 图表概述
[简要概述]
## 关键要素
- 要素1: 解释
- 要素2: 解释
## 原理解释
[详细解释]
## 实际应用
[应用场景]""",
        "en": """Explain what this diagram shows and how it works.
Requirements:
1. Reader level: {grade} (elementary: simple words for primary school; middle_school: moderate; high_school: harder, with technical terms; college: expert level, in depth)
2. Explain step by step
3. Point out the key concepts
4. Give real-world examples
5. Be accurate
Use exactly this format:
## Overview
[short overview]
## Key elements
- element 1: explanation
- element 2: explanation
## How it works
[detailed explanation]
## Applications
[where it is used]""",
    },
)
