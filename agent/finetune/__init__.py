"""Fine-tuning: recorded runs exported as a LLaMA-Factory dataset for Qwen3-VL, with a LoRA config."""
