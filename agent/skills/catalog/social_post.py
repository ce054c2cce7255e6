"""social-post: a post for one platform as JSON (caption, hashtags, alt_text), within its limits."""

from __future__ import annotations

from agent.skills.social import PLATFORMS, check_social_post
from agent.skills.unit import Skill, SkillOption

SKILL = Skill(
    name="social-post",
    summary="a social-media post as JSON: caption, hashtags, alt_text (platform limits enforced)",
    output="json",
    validate=check_social_post,
    max_new_tokens=400,
    options=(
        SkillOption("platform", "the platform whose style and limits apply", "twitter", tuple(PLATFORMS)),
    ),
    prompts={
        "zh": """为{platform}平台创建社交媒体帖子。
要求: twitter: 正文加话题标签共不超过280字符,简洁有力; linkedin: 专业语气,行业见解; instagram: 轻松活泼,注重视觉描述。
生成JSON格式,包含以下字段:
- caption: 帖子正文
- hashtags: 相关话题标签数组
- alt_text: 图片无障碍描述
只返回JSON,不要额外解释。""",
        "en": """Write a social-media post for {platform} about this image.
Style: twitter: at most 280 characters for the caption and hashtags together, short and punchy; linkedin: professional, industry insight; instagram: light and lively, visual.
Answer with JSON holding these fields:
- caption: the post text
- hashtags: an array of relevant hashtags
- alt_text: an accessible description of the image
Return only the JSON, no explanation.""",
    },
)
