"""alt-text: an accessible description of an image, 100-200 characters."""

from __future__ import annotations

from agent.skills.text_check import check_alt_text
from agent.skills.unit import Skill

SKILL = Skill(
    name="alt-text",
    summary="an accessible description (alt text) of the image, 100-200 characters",
    output="text",
    validate=check_alt_text,
    max_new_tokens=200,
    prompts={
        "zh": """为这张图片生成详细的无障碍描述(alt text)。
要求:
- 准确描述图片中的主要内容
- 包含颜色、布局、关键元素
- 长度100-200字符
- 客观准确
只返回描述文本,不要额外说明。""",
        "en": """Write a detailed accessible description (alt text) of this image.
Requirements:
- Describe the main content accurately
- Include colours, layout and key elements
- Between 100 and 200 characters long
- Objective and accurate
Return only the description, nothing else.""",
    },
)
