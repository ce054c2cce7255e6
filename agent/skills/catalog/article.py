"""article: structured Markdown over several images, one paragraph per image."""

from __future__ import annotations

from agent.skills.text_check import check_article
from agent.skills.unit import Skill, SkillOption

SKILL = Skill(
    name="article",
    summary="a Markdown article over the images (--image repeated): a title and one section per image",
    output="markdown",
    validate=check_article,
    images="many",
    max_new_tokens=1500,
    options=(
        SkillOption("topic", "what the article is about", "the images"),
        SkillOption("style", "the writing style", "professional"),
    ),
    prompts={
        "zh": """基于这些图片和主题'{topic}'写一篇文章。
写作风格: {style}
要求:
- 第一行是标题: # 标题
- 按图片顺序,每张图片一个小节: ## 小标题,下面一段150-200字的段落,内容与该图片紧密相关
- 不要写总结或其他小节
- 逻辑清晰,信息准确,语言流畅自然
只返回Markdown文章。""",
        "en": """Write an article about '{topic}' from these images.
Style: {style}
Requirements:
- The first line is the title: # Title
- One section per image, in the images' order: ## Heading, then one paragraph of 80-120 words about that image
- No conclusion and no other sections
- Clear, accurate and fluent
Return only the Markdown article.""",
    },
)
