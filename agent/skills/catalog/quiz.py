"""quiz: questions from a textbook page, parsed into multiple-choice and short-answer items."""

from __future__ import annotations

from agent.skills.quiz import check_quiz
from agent.skills.unit import Skill, SkillOption

SKILL = Skill(
    name="quiz",
    summary="a quiz from a textbook page: multiple choice (A-D, one answer) and short answer, as JSON and Markdown",
    output="json",
    validate=check_quiz,
    max_new_tokens=1200,
    options=(
        SkillOption("topic", "what the quiz is about", "the page"),
        SkillOption("difficulty", "how hard the questions are", "medium", ("easy", "medium", "hard")),
    ),
    prompts={
        "zh": """基于教科书页面内容,生成关于'{topic}'的测验题目。
难度级别: {difficulty}
要求:
1. 生成3-5道题目
2. 包含选择题和简答题
3. 题目要基于页面内容
4. 提供参考答案
5. 每道选择题有A、B、C、D四个选项和一个正确答案
输出格式:
## 测验题目
### 选择题
1. [题目]
A. [选项A]
B. [选项B]
C. [选项C]
D. [选项D]
正确答案: [字母]
### 简答题
1. [题目]
参考答案: [答案]""",
        "en": """Write quiz questions about '{topic}' from this textbook page.
Difficulty: {difficulty}
Requirements:
1. 3-5 questions
2. Both multiple-choice and short-answer questions
3. Based on the page's content
4. With reference answers
5. Every multiple-choice question has four options A, B, C, D and one correct answer
Output format:
## Quiz
### Multiple choice
1. [question]
A. [option A]
B. [option B]
C. [option C]
D. [option D]
Answer: [letter]
### Short answer
1. [question]
Reference answer: [answer]""",
    },
)
