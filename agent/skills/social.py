"""Validating a social-media post: JSON with caption, hashtags and alt text, within the platform's limits."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.skills.extract import json_object_text
from agent.skills.unit import OutputProblem, SkillContext, Validated


class SocialPost(BaseModel):
    """The post as the model must give it; nothing is filled in for it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    caption: str = Field(min_length=1)
    hashtags: list[str]
    alt_text: str = Field(min_length=1)


@dataclass(frozen=True)
class PlatformLimits:
    post_chars: int  # caption plus hashtags, as the platform counts the post
    max_hashtags: int
    alt_text_chars: int


# twitter: 280 per post, alt text 1000; linkedin: 3000 per post; instagram: 2200 and 30 tags.
PLATFORMS: dict[str, PlatformLimits] = {
    "twitter": PlatformLimits(280, 10, 1000),
    "linkedin": PlatformLimits(3000, 30, 1000),
    "instagram": PlatformLimits(2200, 30, 1000),
}


def post_length(post: SocialPost) -> int:
    """The post's length as published: the caption, then each hashtag after a space, with its '#'."""
    tags = [tag if tag.startswith("#") else "#" + tag for tag in post.hashtags]
    return len(" ".join([post.caption, *tags]))


def check_social_post(reply: str, context: SkillContext) -> Validated:
    platform = context.options.get("platform", "twitter")
    limits = PLATFORMS[platform]
    body = json_object_text(reply)
    if body is None:
        raise OutputProblem("no JSON object found: answer with one JSON object only")
    try:
        post = SocialPost.model_validate_json(body)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the object"
        kind = "invalid JSON" if first["type"] == "json_invalid" else f"{where}: {first['msg']}"
        raise OutputProblem(f"the post is not valid: {kind} (fields: caption, hashtags, alt_text)") from None
    problems: list[str] = []
    bad_tags = [t for t in post.hashtags if not t.lstrip("#") or any(c.isspace() for c in t)]
    if bad_tags:
        problems.append(f"hashtags must be single words: {bad_tags[0]!r}")
    if len(post.hashtags) > limits.max_hashtags:
        problems.append(f"{len(post.hashtags)} hashtags; {platform} allows at most {limits.max_hashtags}")
    length = post_length(post)
    if length > limits.post_chars:
        problems.append(
            f"the post (caption and hashtags) is {length} characters; {platform} allows {limits.post_chars}"
        )
    if len(post.alt_text) > limits.alt_text_chars:
        problems.append(f"alt_text is {len(post.alt_text)} characters; at most {limits.alt_text_chars}")
    if problems:
        raise OutputProblem("; ".join(problems))
    data = post.model_dump()
    return Validated(text=json.dumps(data, ensure_ascii=False, indent=2) + "\n", data=data)
