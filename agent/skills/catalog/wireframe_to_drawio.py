"""wireframe-to-drawio: a wireframe to a Draw.io diagram (.drawio XML)."""

from __future__ import annotations

from agent.skills.drawio_check import check_drawio
from agent.skills.unit import Skill

SKILL = Skill(
    name="wireframe-to-drawio",
    summary="a wireframe to a Draw.io diagram, saved as .drawio",
    output="drawio",
    validate=check_drawio,
    max_new_tokens=2048,
    prompts={
        "zh": """根据提供的线框图生成Draw.io可用的XML图表代码。
准确捕捉布局结构和元素关系,使用适当的图形和连接线。
格式: <mxfile><diagram name="Page-1"><mxGraphModel><root><mxCell id="0"/><mxCell id="1" parent="0"/>……</root></mxGraphModel></diagram></mxfile>;
每条连接线(edge="1")的source和target必须是已有图形的id。
只返回XML代码,不要额外解释。""",
        "en": """Write Draw.io XML for this wireframe.
Capture the layout and how the elements relate, with fitting shapes and connectors.
Format: <mxfile><diagram name="Page-1"><mxGraphModel><root><mxCell id="0"/><mxCell id="1" parent="0"/>…</root></mxGraphModel></diagram></mxfile>;
every connector (edge="1") needs a source and a target that are ids of shapes in the diagram.
Return only the XML, no explanation.""",
    },
)
