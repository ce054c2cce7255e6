"""Qwen3-VL in this process through transformers, optionally quantized with bitsandbytes.

A hub id is first resolved to a local folder (``agent.backends.hub``: cache, or a
download with progress), then the same ``from_pretrained`` path loads it as it loads a
folder the user named. The vision tower and ``lm_head`` stay unquantized: quantizing
them costs accuracy on small UI text for little memory, and bnb's CPU path rejects the
vision MLP width.
Generation is greedy, ends at ``</tool_call>``, and checks the caller's cancel event
after every token. The key/value cache is kept from one call to the next
(``agent.backends.prefix``): a step's prompt extends the previous one, so only its new
tokens are prefilled, with their multimodal rope positions taken from the whole
prompt's and only the new images through the vision tower. ``generate`` in
transformers 5.23 accepts such a partial prefill (a non-empty ``past_key_values`` with
the full ``input_ids`` and attention mask) once it is given those positions; the
output is the same tokens as without the cache (tests/test_prefix_reuse.py).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from agent.backends.advice import ModelSize, advise, size_for_params, size_of
from agent.backends.base import DEFAULT_MODEL, ChatRequest, Completion, TextSink
from agent.backends.hub import ModelSource, fetch, find_local, probe
from agent.backends.precision import (
    ParamCounts,
    Precision,
    choose_precision,
    weight_bytes,
)
from agent.backends.prefix import ImageSpan, PrefillStats, PrefixCache, image_spans
from agent.errors import BackendError, StoppedError

log = logging.getLogger(__name__)

SMALL_MODEL = "Qwen/Qwen3-VL-2B-Instruct"
# Modules bitsandbytes must leave alone; transformers 5 matches full module paths.
SKIP_MODULES = ["model.visual", "lm_head"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalSettings:
    model: str = DEFAULT_MODEL
    precision: Precision = Precision.AUTO
    # None: flash_attention_2 when installed and on a GPU, else SDPA.
    attention: str | None = None
    # True: never download (as HF_HUB_OFFLINE=1); a model not on this machine fails at once.
    local_files_only: bool = False
    # Extra keyword arguments for generate(), e.g. a prefix_allowed_tokens_fn in tests.
    generate_kwargs: dict[str, Any] = field(default_factory=dict)
    # Keep the key/value cache between calls and prefill only what a prompt adds.
    reuse_prefix: bool = True


@dataclass(frozen=True)
class ModelInfo:
    """Which model a run uses, where its files came from, and the precision and device it got.

    ``requested`` is what the settings asked for (often ``auto``); ``precision`` what was
    loaded, and ``reason`` why (the free memory ``auto`` saw). Meant for the run's first
    line and its history (``to_json_dict``).
    """

    model: str
    source: ModelSource
    path: str
    precision: Precision
    requested: Precision
    reason: str
    device: str

    def describe(self) -> str:
        """E.g. ``model Q/…-2B from the Hugging Face cache (…), precision nf4 (auto: …), on cuda:0``."""
        match self.source:
            case ModelSource.LOCAL:
                origin = f"from a local folder ({self.path})"
            case ModelSource.CACHE:
                origin = f"from the Hugging Face cache ({self.path})"
            case ModelSource.DOWNLOADED:
                origin = f"just downloaded to {self.path}"
        precision = f"precision {self.precision.value} ({self.reason})"
        return f"model {self.model} {origin}, {precision}, on {self.device}"

    def to_json_dict(self) -> dict[str, str]:
        return {
            "model": self.model,
            "source": self.source.value,
            "path": self.path,
            "precision": self.precision.value,
            "requested_precision": self.requested.value,
            "precision_reason": self.reason,
            "device": self.device,
        }


@dataclass(frozen=True)
class LoadReport:
    model: str
    precision: Precision
    device: str
    attention: str
    seconds: float
    weight_bytes: int


def _free_bytes(cuda: bool) -> int:
    if cuda:
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def count_params(config: Any) -> ParamCounts:
    """Parameter counts from a config alone, by building the model on the meta device."""
    import torch
    from transformers import AutoModelForImageTextToText

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    kept = total = 0
    for name, param in model.named_parameters():
        total += param.numel()
        if name.startswith(("model.visual", "lm_head")) or "embed_tokens" in name or param.dim() < 2:
            kept += param.numel()
    return ParamCounts(quantizable=total - kept, kept=kept)


def _load_error(model: str, err: BaseException) -> BackendError:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if type(err).__name__ == "OutOfMemoryError":
        return BackendError(
            f"out of memory loading {model}: try --precision nf4, the smaller {SMALL_MODEL}, "
            "or a model server (--backend openai)"
        )
    if isinstance(err, ImportError) and "bitsandbytes" in text.lower():
        return BackendError("nf4 and int8 need bitsandbytes: pip install 'bitsandbytes>=0.50'")
    return BackendError(f"cannot load model {model}: {text}")


def _device_name(cuda: bool) -> str:
    return "cuda:0" if cuda else "cpu"


def _emit_advice(say: Progress, size: ModelSize | None, cuda: bool) -> bool:
    advice = advise(size, _free_bytes(cuda), cuda)
    if advice is not None:
        say(advice.line)
    return advice is not None


def load_model(
    settings: LocalSettings, progress: Progress | None = None, cancel: threading.Event | None = None
) -> tuple[Any, Any, LoadReport, ModelInfo]:
    """Resolve, then load processor and model; every failure is a one-line ``BackendError``."""
    say = progress or (lambda message: log.info("%s", message))
    cancel = cancel or threading.Event()
    # Before torch is imported: a model that is not here and cannot be fetched (offline,
    # or the Hub does not answer) fails in about a second, not after seconds of imports.
    location = find_local(settings.model, offline=settings.local_files_only or None)
    remote = probe(settings.model, endpoint=None, cancel=cancel) if location is None else None
    try:
        import torch
        from transformers import AutoConfig, AutoModelForImageTextToText, BitsAndBytesConfig
    except ImportError as err:
        raise BackendError(f"the local backend needs torch and transformers: {err}") from None
    from agent.backends.processor import load_processor

    cuda = torch.cuda.is_available()
    # Said before a download: 17 GB is a lot to fetch for a model this machine cannot run.
    named_size = size_of(settings.model)
    advised = named_size is not None and _emit_advice(say, named_size, cuda)
    if location is None:
        location = fetch(settings.model, progress=say, cancel=cancel, remote=remote)
    folder = str(location.path)
    started = time.perf_counter()
    say(f"loading {settings.model}: configuration and processor")
    try:
        # The folder is complete and local: no file lookup may go to the network.
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        processor = load_processor(folder, local_files_only=True)
    except BackendError:
        raise
    except Exception as err:
        raise _load_error(settings.model, err) from None

    params = count_params(config)
    if not advised:
        _emit_advice(say, named_size or size_for_params(params.total), cuda)
    precision = settings.precision
    device = _device_name(cuda)
    if precision is Precision.AUTO:
        free = _free_bytes(cuda)
        precision = choose_precision(params, free)
        where = f"on {device}" if cuda else "of RAM, no CUDA GPU"
        reason = f"auto: {free / 1e9:.1f} GB free {where}"
    else:
        reason = "as set"
    if precision is Precision.FP16 and not cuda:
        raise BackendError("fp16 needs a GPU; on this CPU use --precision bf16 or fp32")

    attention = settings.attention or (
        "flash_attention_2" if cuda and importlib.util.find_spec("flash_attn") else "sdpa"
    )
    if attention == "flash_attention_2" and not cuda:
        raise BackendError("flash_attention_2 needs a GPU; leave --attention unset on a CPU")
    dtype = {Precision.FP32: torch.float32, Precision.FP16: torch.float16}.get(precision, torch.bfloat16)
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attention, "local_files_only": True}
    if cuda:
        kwargs["device_map"] = "auto"
    if precision in (Precision.NF4, Precision.INT8):
        if importlib.util.find_spec("bitsandbytes") is None:
            raise BackendError("nf4 and int8 need bitsandbytes: pip install 'bitsandbytes>=0.50'")
        if precision is Precision.NF4:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=torch.bfloat16,
                bnb_4bit_use_double_quant=True,
                llm_int8_skip_modules=SKIP_MODULES,
            )
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_8bit=True, llm_int8_skip_modules=SKIP_MODULES
            )
    info = ModelInfo(
        model=settings.model,
        source=location.source,
        path=folder,
        precision=precision,
        requested=settings.precision,
        reason=reason,
        device=device,
    )
    say(info.describe())
    try:
        model = AutoModelForImageTextToText.from_pretrained(folder, **kwargs)
    except Exception as err:
        raise _load_error(settings.model, err) from None
    model.eval()
    info = replace(info, device=str(model.device))
    footprint = int(model.get_memory_footprint())
    report = LoadReport(
        model=settings.model,
        precision=precision,
        device=info.device,
        attention=attention,
        seconds=time.perf_counter() - started,
        weight_bytes=footprint,
    )
    say(
        f"loaded {settings.model} at {precision.value} on {report.device} in {report.seconds:.1f} s; "
        f"weights use {footprint / 1e9:.2f} GB (estimate {weight_bytes(params, precision) / 1e9:.2f} GB)"
    )
    return model, processor, report, info


def _cancel_criteria(cancel: threading.Event) -> Any:
    import torch
    from transformers import StoppingCriteria

    class CancelOnEvent(StoppingCriteria):
        """Ends generation after the current token once ``cancel`` is set."""

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            batch = input_ids.shape[0]
            return torch.full((batch,), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

    return CancelOnEvent()


def _streamer(tokenizer: Any, on_text: TextSink, first_token: list[float]) -> Any:
    from transformers import TextStreamer

    class CallbackStreamer(TextStreamer):
        def put(self, value: Any) -> None:
            if not first_token and not self.next_tokens_are_prompt:
                first_token.append(time.perf_counter())
            super().put(value)

        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_text(text)

    return CallbackStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


class LocalBackend:
    """A loaded model and processor; ``complete`` renders, preprocesses and generates."""

    name = "local"

    def __init__(
        self,
        settings: LocalSettings | None = None,
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.settings = settings or LocalSettings()
        self.model, self.processor, self.report, self.info = load_model(self.settings, progress, cancel)
        self.prefix = PrefixCache()
        # What the last ``complete`` reused and computed (a seam for tests and benchmarks).
        self.last_prefill: PrefillStats | None = None

    def render(self, request: ChatRequest) -> str:
        """The prompt text exactly as the model's own chat template renders it."""
        text = self.processor.apply_chat_template(
            request.messages, tools=request.tools, add_generation_prompt=True, tokenize=False
        )
        return str(text)

    def encode(self, request: ChatRequest) -> Any:
        images = request.images
        return self.processor(
            text=[self.render(request)],
            images=images or None,
            size={"shortest_edge": request.min_pixels, "longest_edge": request.max_pixels},
            return_tensors="pt",
        )

    def complete(
        self, request: ChatRequest, cancel: threading.Event, on_text: TextSink | None = None
    ) -> Completion:
        if cancel.is_set():
            raise StoppedError("stopped before the model was asked")
        from transformers import StoppingCriteriaList

        started = time.perf_counter()
        # Everything the processor returns goes to generate(): without mm_token_type_ids
        # the image positions are silently wrong.
        inputs = self.encode(request).to(self.model.device)
        prompt_len = int(inputs["input_ids"].shape[1])
        reuse = self.settings.reuse_prefix
        budget = (request.min_pixels, request.max_pixels)
        spans: list[ImageSpan] = []
        kwargs: dict[str, Any] = dict(inputs)
        keep = 0
        if reuse:
            ids = inputs["input_ids"][0].to("cpu")
            spans = image_spans(ids, int(self.model.config.image_token_id), request.images)
            keep = self.prefix.keep(ids, spans, budget)
            if keep:
                kwargs = self._suffix_inputs(inputs, keep, spans)
            kwargs["past_key_values"] = self.prefix.new_cache(self.model)
        self.last_prefill = PrefillStats(prompt_tokens=prompt_len, reused_tokens=keep)
        encoded = time.perf_counter()
        first_token: list[float] = []
        streamer = _streamer(self.processor.tokenizer, on_text or (lambda _t: None), first_token)
        try:
            output = self.model.generate(
                **kwargs,
                max_new_tokens=request.max_new_tokens,
                do_sample=False,
                # The first </tool_call> ends the answer: only the first call of any reply is
                # carried out (one call per answer, for every backend), so nothing usable is cut.
                stop_strings=list(request.stop) or None,
                tokenizer=self.processor.tokenizer,
                stopping_criteria=StoppingCriteriaList([_cancel_criteria(cancel)]),
                streamer=streamer,
                **self.settings.generate_kwargs,
            )
        except BaseException:
            # A generation that failed half-way leaves the cache holding an unknown length.
            self.prefix.reset()
            raise
        if reuse:
            self.prefix.remember(output[0], spans, budget)
        done = time.perf_counter()
        if cancel.is_set():
            raise StoppedError("stopped while the model was generating")
        new_tokens = output[0, prompt_len:]
        text = self.processor.tokenizer.decode(new_tokens, skip_special_tokens=True)
        timings = {"preprocess_s": encoded - started, "generate_s": done - encoded}
        if first_token:
            timings["first_token_s"] = first_token[0] - encoded
        return Completion(
            text=str(text),
            prompt_tokens=prompt_len,
            completion_tokens=int(new_tokens.shape[0]),
            cached_tokens=keep if reuse else None,
            timings=timings,
        )

    def _suffix_inputs(self, inputs: Any, keep: int, spans: list[ImageSpan]) -> dict[str, Any]:
        """generate()'s inputs when the cache holds the first ``keep`` tokens.

        input_ids and the attention mask stay whole (generate slices them to what the
        cache lacks); the vision tower gets only the images after ``keep``, which
        ``PrefixCache.keep`` never cuts; the rope positions are computed over the whole
        prompt, because an image's positions shift every position after it, and passed
        explicitly: left to itself, generate would compute them from the images it is
        given, which are only the new ones.
        """
        import torch

        kwargs: dict[str, Any] = dict(inputs)
        grid = inputs.get("image_grid_thw")
        mm_types = inputs["mm_token_type_ids"]
        rope_positions, _ = self.model.model.get_rope_index(
            inputs["input_ids"],
            mm_token_type_ids=mm_types,
            image_grid_thw=grid,
            attention_mask=inputs.get("attention_mask"),
        )
        text_positions = torch.arange(
            inputs["input_ids"].shape[1], device=rope_positions.device, dtype=rope_positions.dtype
        )
        # generate's own layout for Qwen3-VL: the text row, then the three rope rows.
        kwargs["position_ids"] = torch.cat([text_positions.view(1, 1, -1), rope_positions], dim=0)
        if grid is not None:
            cached_images = sum(1 for span in spans if span.start < keep)
            if cached_images == len(spans):
                kwargs.pop("pixel_values", None)
                kwargs.pop("image_grid_thw", None)
            elif cached_images:
                patches = int(grid[:cached_images].prod(dim=1).sum())
                kwargs["pixel_values"] = inputs["pixel_values"][patches:]
                kwargs["image_grid_thw"] = grid[cached_images:]
        return kwargs

    def complete_batch(self, requests: list[ChatRequest], cancel: threading.Event) -> list[Completion]:
        """Several requests in one ``generate`` call (left-padded), for batch runs of a skill.

        Every request must share the decoding limits of the first; a stop ends them all.
        """
        if cancel.is_set():
            raise StoppedError("stopped before the model was asked")
        if not requests:
            return []
        from transformers import StoppingCriteriaList

        first = requests[0]
        tokenizer = self.processor.tokenizer
        images = [image for request in requests for image in request.images]
        side = tokenizer.padding_side
        tokenizer.padding_side = "left"  # generation continues from the right end of every row
        try:
            inputs = self.processor(
                text=[self.render(request) for request in requests],
                images=images or None,
                size={"shortest_edge": first.min_pixels, "longest_edge": first.max_pixels},
                padding=True,
                return_tensors="pt",
            ).to(self.model.device)
        finally:
            tokenizer.padding_side = side
        started = time.perf_counter()
        output = self.model.generate(
            **inputs,
            max_new_tokens=max(r.max_new_tokens for r in requests),
            do_sample=False,
            stop_strings=list(first.stop) or None,
            tokenizer=tokenizer,
            stopping_criteria=StoppingCriteriaList([_cancel_criteria(cancel)]),
            pad_token_id=tokenizer.pad_token_id,
            **self.settings.generate_kwargs,
        )
        if cancel.is_set():
            raise StoppedError("stopped while the model was generating")
        seconds = time.perf_counter() - started
        prompt_len = int(inputs["input_ids"].shape[1])
        texts = tokenizer.batch_decode(output[:, prompt_len:], skip_special_tokens=True)
        return [
            Completion(text=str(text), prompt_tokens=prompt_len, timings={"generate_s": seconds})
            for text in texts
        ]
