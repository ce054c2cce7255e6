"""design-to-html: a design mock-up to one HTML5/CSS3 page."""

from __future__ import annotations

from agent.skills.html_check import check_html
from agent.skills.unit import Skill

SKILL = Skill(
    name="design-to-html",
    summary="a design mock-up to one HTML5 page with CSS3 (flex or grid), colours close to the design",
    output="html",
    validate=check_html,
    max_new_tokens=2048,
    prompts={
        "zh": """分析这张设计稿并生成符合要求的HTML和CSS代码。
要求:
1. 使用现代HTML5和CSS3标准,输出一个完整的HTML文档(<!DOCTYPE html>,包含<head>和<body>),CSS写在<head>的<style>里
2. 实现响应式布局
3. 使用Flexbox或Grid布局
4. 颜色和尺寸尽量接近设计
5. 添加必要的注释
只返回HTML代码,不需要额外解释。""",
        "en": """Analyse this design mock-up and write the page in HTML and CSS.
Requirements:
1. Modern HTML5 and CSS3: one complete HTML document (<!DOCTYPE html>, with <head> and <body>), the CSS in a <style> element in <head>
2. A responsive layout
3. Flexbox or Grid for layout
4. Colours and sizes as close to the design as you can
5. Short comments where they help
Return only the HTML code, no explanation.""",
    },
)
