"""The model-driven action source: Qwen3-VL's ``computer_use`` prompt, parser, planner and loop."""
