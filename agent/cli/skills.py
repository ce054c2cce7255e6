"""The ``deskpilot skill`` and ``deskpilot batch`` subcommands: checks before the model, exit codes."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.options import EXIT_FAILED, EXIT_OK, EXIT_STOPPED, add_model_options, settings_with
from agent.errors import ConfigError
from agent.skills.registry import get_skill, skills
from agent.skills.unit import LANGS, Skill, default_lang

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.config import Settings


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _skill_options(parser: argparse.ArgumentParser) -> None:
    """Each skill option once (two skills may share one, e.g. --topic), with who takes it and its defaults."""
    users: dict[str, list[tuple[Skill, Any]]] = {}
    for skill in skills().values():
        for option in skill.options:
            users.setdefault(option.name, []).append((skill, option))
    group = parser.add_argument_group("skill options")
    for name, pairs in sorted(users.items()):
        option = pairs[0][1]
        choices = f" ({'|'.join(option.choices)})" if option.choices else ""
        defaults = "; ".join(f"{skill.name}: default {opt.default!r}" for skill, opt in pairs)
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            metavar="VALUE",
            help=f"{option.help}{choices} [{defaults}]",
        )


def _backend_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model options (defaults from the settings file, else shown)")
    add_model_options(group, backends=("local", "openai"), script=False)
    group.add_argument(
        "--lang",
        choices=list(LANGS),
        help=f"the prompt's language (default: from the locale, here {default_lang()})",
    )


def add_commands(sub: Any) -> None:
    """Register ``skill`` and ``batch`` on the ``deskpilot`` subparsers."""
    names = ", ".join(skills())
    p_skill = sub.add_parser(
        "skill",
        help="run a screen skill on images or a capture (design-to-html, alt-text, quiz, ...)",
        description=f"Run one skill ({names}) on image files or a capture; the answer is validated, "
        "retried once with the problem told to the model, and saved or printed.",
    )
    p_skill.add_argument("name", nargs="?", metavar="NAME", help="the skill (see --list)")
    p_skill.add_argument(
        "--list", action="store_true", help="list the skills and their options (default: off)"
    )
    p_skill.add_argument(
        "--image",
        action="append",
        type=Path,
        metavar="FILE",
        default=[],
        help="an image to run on; repeat for several (article) (default: none)",
    )
    where = p_skill.add_mutually_exclusive_group()
    where.add_argument("--region", metavar="WxH+X+Y", help="capture this screen rectangle (default: none)")
    where.add_argument("--window", action="store_true", help="capture the active window (default: off)")
    where.add_argument(
        "--monitor", type=int, metavar="N", help="capture monitor N, 1 primary (default: none)"
    )
    p_skill.add_argument(
        "--out", type=Path, metavar="FILE", help="write the result here, mode 0600 (default: stdout)"
    )
    p_skill.add_argument(
        "--preview",
        type=Path,
        metavar="FILE.png",
        help="design-to-html: save the design and Chromium's render side by side (default: none)",
    )
    _skill_options(p_skill)
    _backend_options(p_skill)
    p_skill.set_defaults(handler=cmd_skill)

    p_batch = sub.add_parser(
        "batch",
        help="run a skill on every image in a folder, one JSON line per image",
        description="Run SKILL on every image in DIR; each result (or its error) is one JSON line, "
        "written as it finishes, so Ctrl+C keeps what is done and --resume does the rest.",
    )
    p_batch.add_argument("skill", metavar="SKILL", help="the skill (deskpilot skill --list)")
    p_batch.add_argument("dir", type=Path, metavar="DIR", help="the folder of images")
    p_batch.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE.jsonl",
        help="the JSON Lines file, replaced unless --resume (required)",
    )
    p_batch.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="concurrent requests to a server, or images per generate call in process (default: 1)",
    )
    p_batch.add_argument(
        "--resume",
        action="store_true",
        help="only the images missing from --out or failed there (default: off)",
    )
    _skill_options(p_batch)
    _backend_options(p_batch)
    p_batch.set_defaults(handler=cmd_batch)


def _settings(args: argparse.Namespace) -> Settings:
    from agent.config import require_valid

    settings = settings_with(args, args.model_options)
    if settings.backend not in ("local", "openai"):
        raise ConfigError(f"skills run on --backend local or openai, not {settings.backend}")
    require_valid(settings)
    return settings


def _options(args: argparse.Namespace, skill: Skill) -> dict[str, str]:
    given = {option.name: getattr(args, option.name, None) for s in skills().values() for option in s.options}
    return skill.resolve(given)


def _open_images(paths: list[Path]) -> list[Image]:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    images = []
    for path in paths:
        try:
            with PILImage.open(path) as image:
                image.load()
                images.append(image.convert("RGB"))
        except FileNotFoundError:
            raise ConfigError(f"--image {path}: no such file") from None
        except (UnidentifiedImageError, OSError) as err:
            raise ConfigError(f"--image {path}: not an image ({err})") from None
    return images


def _interrupts(stop: threading.Event, loading: threading.Event) -> None:
    def on_interrupt(*_: object) -> None:
        # While the model loads, Ctrl+C interrupts the load; afterwards it sets the stop
        # token, which ends generation and lets finished work be kept.
        stop.set()
        if loading.is_set():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


def cmd_skill(args: argparse.Namespace) -> int:
    from agent.api import Session, capture_for_skill
    from agent.skills.output import check_out_path, raw_path, save_result, write_private
    from agent.skills.runner import SkillJob, SkillOutputError

    if args.list:
        for skill in skills().values():
            flags = " ".join(f"[--{o.name} {'|'.join(o.choices) or o.default!r}]" for o in skill.options)
            sys.stdout.write(
                f"{skill.name:<20} {skill.summary}" + (f"\n{'':<21}{flags}" if flags else "") + "\n"
            )
        return EXIT_OK
    if not args.name:
        raise ConfigError("name a skill (deskpilot skill --list shows them)")
    skill = get_skill(args.name)
    options = _options(args, skill)
    capture = args.region is not None or args.window or args.monitor is not None
    if args.image and capture:
        raise ConfigError("give --image FILE or one of --region/--window/--monitor, not both")
    if not args.image and not capture:
        raise ConfigError("give --image FILE (repeatable) or one of --region WxH+X+Y, --window, --monitor N")
    if skill.images == "one" and len(args.image) > 1:
        raise ConfigError(f"{skill.name} takes one image; {len(args.image)} were given")
    images = _open_images(args.image)
    if args.out is not None:
        check_out_path(args.out)
    browser = None
    if args.preview is not None:
        from agent.skills.preview import find_browser

        if skill.output != "html":
            raise ConfigError(f"--preview is for design-to-html, not {skill.name}")
        if args.preview.suffix.lower() != ".png":
            raise ConfigError(f"--preview {args.preview}: the preview is a .png file")
        check_out_path(args.preview)
        browser = find_browser()
    settings = _settings(args)
    lang = args.lang or default_lang()
    stop, loading = threading.Event(), threading.Event()
    loading.set()
    _interrupts(stop, loading)
    if capture:
        from agent.computers.selection import select_platform
        from agent.geometry import parse_region

        target: Any = (
            parse_region(args.region)
            if args.region
            else select_platform().active_window_region()
            if args.window
            else args.monitor
        )
        images = [capture_for_skill(target, stop)]
    job = SkillJob(skill, tuple(images), options, lang, settings.max_pixels)
    session = Session(progress=_say)
    session.backend(settings)  # load (with progress) before the stop token takes over Ctrl+C
    loading.clear()
    _say(f"{skill.name}: asking {settings.model} ...")
    try:
        result = session.run_skill(
            settings,
            job,
            stop=stop,
            on_retry=lambda problem: _say(f"rejected ({problem}); asking once more ..."),
        )
    except SkillOutputError as err:
        path = raw_path(args.out, skill)
        write_private(path, err.raw + "\n")
        _say(f"deskpilot: error: {err}; the raw output is in {path}")
        return EXIT_FAILED
    if args.out is None:
        sys.stdout.write(result.validated.text)
    else:
        for path in save_result(result, args.out):
            _say(f"saved {path}")
    if args.preview is not None:
        from agent.records.files import save_image_private
        from agent.skills.preview import render_html, side_by_side

        _say("rendering the preview in headless Chromium ...")
        design = images[0]
        render = render_html(result.validated.text, design.size, stop, browser)
        save_image_private(side_by_side(design, render), args.preview)
        _say(f"saved the preview {args.preview} (design left, render right)")
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from agent.api import Session
    from agent.skills.batch import BatchSpec, pending
    from agent.skills.output import check_out_path
    from agent.skills.progress import Tally, progress_line

    skill = get_skill(args.skill)
    if skill.images != "one":
        raise ConfigError(f"{skill.name} works on several images at once; batch runs one image per line")
    options = _options(args, skill)
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    check_out_path(args.out)
    settings = _settings(args)
    spec = BatchSpec(
        skill,
        args.dir,
        args.out,
        options,
        args.lang or default_lang(),
        settings.max_pixels,
        args.workers,
        args.resume,
    )
    todo, skipped = pending(spec)  # a bad folder fails here, before the model loads
    if not todo:
        _say(f"nothing to do: all {skipped} images in {args.dir} are finished in {args.out}")
        return EXIT_OK
    stop, loading = threading.Event(), threading.Event()
    loading.set()
    _interrupts(stop, loading)
    session = Session(progress=_say)
    session.backend(settings)
    loading.clear()
    _say(
        f"{skill.name}: {len(todo)} images"
        + (f" ({skipped} already done)" if skipped else "")
        + f", {args.workers} at a time"
    )
    tty = sys.stderr.isatty()

    def show(tally: Tally) -> None:
        line = progress_line(tally)
        sys.stderr.write(("\r" + line) if tty else (line + "\n"))
        sys.stderr.flush()

    summary = session.run_batch(settings, spec, stop=stop, on_tally=show)
    if tty:
        sys.stderr.write("\n")
    _say(f"{summary.done + summary.skipped} done, {summary.failed} failed; lines in {args.out}")
    if summary.stopped:
        _say("deskpilot: stopped: finished lines are kept; --resume does the rest")
        return EXIT_STOPPED
    return EXIT_FAILED if summary.failed else EXIT_OK
