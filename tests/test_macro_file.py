"""The macro file and its commands: versioned JSON, 0600, one-line errors, show and edit."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from PIL import Image

from agent.cli import main
from agent.errors import ConfigError
from agent.macros import editing
from agent.macros.anchors import make_anchor
from agent.macros.schema import (
    Macro,
    MacroStep,
    Monitor,
    fill_variables,
    literal_text,
    load_macro,
    save_macro,
    save_macro_or_rescue,
    variable_names,
)
from tests.macro_images import screen


@pytest.fixture(scope="module")
def macro() -> Macro:
    anchor = make_anchor(screen(), (460, 320))
    return Macro(
        name="save it",
        monitor=Monitor(width=1920, height=1080),
        steps=[
            MacroStep(action={"action": "left_click", "x": 460, "y": 320}, anchor=anchor, delay_s=1.5),
            MacroStep(action={"action": "type", "text": "hello {name}"}),
            MacroStep(action={"action": "key", "keys": ["ctrl", "s"]}),
        ],
    )


def test_saved_file_is_private_readable_json_and_loads_back(macro: Macro, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save_macro(macro, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["steps"][1]["action"] == {"action": "type", "text": "hello {name}"}
    assert load_macro(path) == macro


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON (line 1)"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"version": 2, "monitor": {"width": 1, "height": 1}}', "version 2 macro, made by a newer Deskpilot"),
        (b'{"version": 1, "monitor": {"width": 1, "height": 1}, "steps": [{"action": {"action": "fly"}}]}', "not a valid macro: steps.0.action"),
        (b'{"version": 1, "monitor": {"width": 1, "height": 1}, "steps": [{"action": {"action": "left_click"}}]}', "needs x and y"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    assert main(["macro", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_play_checks_its_options_before_touching_the_desktop(macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.json"
    save_macro(macro, path)
    for args, message in [
        (["--speed", "fast"], "--speed"),
        (["--repeat", "0"], "--repeat"),
        (["--vars", "1x=2"], "--vars"),
        (["--data", str(tmp_path / "none.csv")], "no file"),
    ]:
        assert main(["macro", "play", str(path), *args]) == 2
        assert message in capsys.readouterr().err


def test_show_lists_the_steps_in_words(macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.json"
    save_macro(macro, path)
    assert main(["macro", "show", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Macro save it (3 steps, recorded; monitor 1920x1080 at (0, 0), scale 1)"
    assert lines[1].split() [:5] == ["1", "Click", "at", "(460,", "320)"] and "after 1.5 s" in lines[1]
    assert lines[2].strip() == "2  Type 'hello {name}'" and lines[3].strip() == "3  Press ctrl+s"
    assert "text" not in lines[1]  # this anchor was cut without OCR


def test_show_names_the_run_a_macro_was_made_from(macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.json"
    one = macro.model_copy(update={"source": "run", "run_id": "20261201-101500-ab12", "steps": macro.steps[:1]})
    save_macro(one, path)
    assert main(["macro", "show", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("Macro save it (1 step, made from run 20261201-101500-ab12;")


def test_show_names_the_text_an_anchor_keeps(macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    anchor = macro.steps[0].anchor
    assert anchor is not None
    step = macro.steps[0].model_copy(update={"anchor": anchor.model_copy(update={"text": "Save", "text_box": (-20, -7, 40, 13)})})
    path = tmp_path / "m.json"
    save_macro(macro.model_copy(update={"steps": [step, *macro.steps[1:]]}), path)
    assert main(["macro", "show", str(path)]) == 0
    assert "text 'Save'" in capsys.readouterr().out.splitlines()[1]


def test_edit_from_the_command_line(macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.json"
    save_macro(macro, path)
    assert main(["macro", "edit", str(path), "set-text", "2", "bye {name}"]) == 0
    assert main(["macro", "edit", str(path), "insert-wait", "3", "0.5"]) == 0
    assert main(["macro", "edit", str(path), "move", "4", "1"]) == 0
    assert main(["macro", "edit", str(path), "insert", "5", '{"action": "key", "keys": ["enter"]}']) == 0
    assert main(["macro", "edit", str(path), "delete", "2"]) == 0
    names = [(s.name, s.action.get("text") or s.action.get("keys") or s.action.get("time")) for s in load_macro(path).steps]
    assert names == [("key", ["ctrl", "s"]), ("type", "bye {name}"), ("wait", 0.5), ("key", ["enter"])]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(["macro", "edit", str(path), "delete", "9"]) == 2
    assert "no step 9" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: editing.set_text(m, 1, "x"), "only type steps"),
        (lambda m: editing.insert_step(m, 1, {"action": "left_click", "x": 1, "y": 1}), "needs an anchor"),
        (lambda m: editing.insert_wait(m, 1, 99), "0..60"),
        (lambda m: editing.move_step(m, 1, 0), "no step 0"),
        # The step's own reason, not pydantic's "For further information visit ..." footer.
        (lambda m: editing.insert_step(m, 1, {"action": "key", "keys": ["notakey"]}), r"^not a step: key\.keys: unknown key 'notakey'$"),
        (lambda m: editing.insert_step(m, 1, {"action": "wait", "seconds": 1}), r"^not a step: wait\.time: Field required"),
    ],
)
def test_edits_that_make_no_sense_are_refused(macro: Macro, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        edit(macro)


@pytest.mark.parametrize(
    ("text", "values", "out"),
    [
        ("hello {name}", {"name": "Ada"}, "hello Ada"),
        ("{a}{b}", {"a": "1", "b": "2"}, "12"),
        ("{ not a name }", {}, "{ not a name }"),
        ("{name.attr}", {"name": "x"}, "{name.attr}"),  # no format-spec tricks: only plain names
        ("{{name}} is {name}", {"name": "Ada"}, "{name} is Ada"),  # doubled braces are literal
        ("{{}}", {}, "{}"),
        (literal_text("Hello, World! {x} }{"), {}, "Hello, World! {x} }{"),  # what the recorder writes
    ],
)
def test_variables_fill_plain_names_only(text: str, values: dict[str, str], out: str) -> None:
    assert fill_variables(text, values) == out


def test_every_macro_option_says_its_default() -> None:
    import argparse

    from agent.cli import build_parser

    def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    macro = subparsers(build_parser())["macro"]
    commands = subparsers(macro)
    assert set(commands) == {"play", "show", "edit", "from-run", "record"}
    for name, parser in commands.items():
        for action in parser._actions:
            if action.option_strings and action.help != argparse.SUPPRESS and "-h" not in action.option_strings:
                assert "(default:" in (action.help or ""), (name, action.option_strings)


def test_play_and_record_without_a_display_are_one_line_and_exit_2(
    macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.json"
    save_macro(macro, path)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("DESKPILOT_CONFIG", str(tmp_path / "none.toml"))
    for args in (["play", str(path), "--vars", "name=x"], ["record", str(tmp_path / "new.json")]):
        assert main(["macro", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "display" in err.lower(), err
    assert not (tmp_path / "new.json").exists()


def test_escaped_braces_ask_for_no_variable() -> None:
    macro = Macro(
        monitor=Monitor(width=10, height=10),
        steps=[MacroStep(action={"action": "type", "text": "{{x}} {name} {{y}}"})],
    )
    assert variable_names(macro) == {"name"}


def test_record_into_a_folder_that_cannot_be_written_stops_before_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # /proc refuses new files even to root, who ignores permission bits.
    monkeypatch.setenv("DESKPILOT_CONFIG", str(tmp_path / "none.toml"))
    assert main(["macro", "record", "/proc/deskpilot-test.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the folder /proc cannot be written" in err, err


def test_a_finished_recording_that_cannot_be_saved_goes_to_the_data_folder(macro: Macro, tmp_path: Path) -> None:
    said: list[str] = []
    rescue = tmp_path / "rescue"
    first = save_macro_or_rescue(macro, Path("/proc/deskpilot-test.json"), rescue, said.append)
    second = save_macro_or_rescue(macro, Path("/proc/deskpilot-test.json"), rescue, said.append)
    assert (first, second) == (rescue / "deskpilot-test.json", rescue / "deskpilot-test-2.json")
    assert load_macro(first) == macro and stat.S_IMODE(first.stat().st_mode) == 0o600
    assert said[0].startswith("cannot write /proc/deskpilot-test.json") and said[0].endswith(f"saved in {first} instead")


def _png_claiming(width: int, height: int) -> str:
    """A small PNG whose header claims ``width`` x ``height``: what a decompression bomb looks like up front."""
    import base64
    import io
    import struct

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    raw = bytearray(buffer.getvalue())
    raw[16:24] = struct.pack(">II", width, height)
    return base64.b64encode(bytes(raw)).decode("ascii")


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        (_png_claiming(30000, 30000), "the anchor crop is 30000x30000, larger than any monitor"),
        ("aGVsbG8gd29ybGQ=", "the anchor crop is not a PNG image"),
        ("%%%", "the anchor crop is not base64"),
        (_png_claiming(48, 48), "the anchor crop is not a readable PNG image"),  # its checksum no longer fits
        ("resize", "the anchor crop is 10x10 but its box says 48x48"),
    ],
    ids=["huge", "junk", "not-base64", "corrupt", "box-mismatch"],
)
def test_a_bad_anchor_is_one_line_and_exit_2_before_anything_runs(
    macro: Macro, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, crop: str, message: str
) -> None:
    import time

    from agent.macros.schema import encode_png

    data = json.loads(macro.model_dump_json())
    anchor = data["steps"][0]["anchor"]
    anchor["box"][2:] = [48, 48]
    anchor["crop"] = encode_png(Image.new("RGB", (10, 10))) if crop == "resize" else crop
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("DESKPILOT_CONFIG", str(tmp_path / "none.toml"))
    for args in (["show", str(path)], ["play", str(path), "--vars", "name=x"]):
        started = time.monotonic()
        assert main(["macro", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "BytesIO" not in err, err
        assert time.monotonic() - started < 1.0
