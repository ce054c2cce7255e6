"""Anchor text and healing tier (c-ocr) on synthetic screens: a fake reader for the rules, rapidocr once for real."""

from __future__ import annotations

import pytest
from PIL import Image

from agent.access.matching import find_matches
from agent.access.ocr import OcrError
from agent.imaging import Box
from agent.macros.anchors import LABEL_REACH, AnchorMaker, make_anchor, own_text, text_region
from agent.macros.healing import Found, Healer, Miss, point_from_text
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.schema import Anchor, Macro, MacroStep, Monitor
from agent.macros.text_tier import OcrTextLocator, pick
from agent.ports import TextBox
from agent.testing.fake import FakeComputer
from agent.testing.reader import ScreenReader
from tests.macro_images import label_box, restyled_screen, screen

POINT = (445, 320)  # on the recorded button's "Save" label (drawn at x 420..460)
ICON = (495, 320)  # on the recorded button's round icon, right of its label
MONITOR = Monitor(width=1920, height=1080)


def box(text: str, left: int, top: int, right: int, bottom: int) -> TextBox:
    return TextBox(text, left, top, right, bottom)


# -- which text an anchor keeps (pure) -----------------------------------------------------

FIELD = Box(60, 90, 200, 24)  # an empty field around the point (100, 100)
OWN_CASES = [
    # (boxes read, the element's box, the element's name, the text kept)
    ("under the point", [box("Save", 90, 90, 130, 110)], None, "", "Save"),
    ("the word under it, not its line", [box("Save all", 60, 88, 160, 112), box("Save", 90, 90, 130, 110)],
     None, "", "Save"),
    # The reported bug: an empty field took the button next to it for its text.
    ("a neighbour's text beside an empty field is not its own", [box("Cancel", 270, 92, 330, 110)],
     FIELD, "", None),
    ("nor beside a point with no element at all", [box("Print", 110, 95, 160, 105)], None, "", None),
    ("the placeholder inside the field", [box("Cancel", 270, 92, 330, 110), box("you@example.org", 150, 94, 250, 108)],
     FIELD, "", "you@example.org"),
    ("a label beside the field, by the field's name", [box("Email", 10, 94, 50, 108), box("Cancel", 270, 92, 330, 110)],
     FIELD, "Email", "Email"),
    ("a name nobody wrote is no text", [box("Cancel", 270, 92, 330, 110)], FIELD, "Email", None),
    ("an icon's label inside its button", [box("Print", 110, 95, 160, 105)], Box(80, 85, 90, 30), "", "Print"),
    ("blank text is no text", [box(" ", 90, 90, 130, 110)], None, "", None),
    ("nothing read", [], FIELD, "Email", None),
]


@pytest.mark.parametrize(("name", "boxes", "element", "element_name", "text"), OWN_CASES,
                         ids=[c[0] for c in OWN_CASES])
def test_the_text_an_anchor_keeps_is_its_own(
    name: str, boxes: list[TextBox], element: Box | None, element_name: str, text: str | None
) -> None:
    found = own_text(boxes, (100, 100), element, element_name)
    assert (found.text if found else None) == text


CONTEXT = Box(400, 300, 320, 320)
REGION_CASES = [
    ("no element: the context crop", None, CONTEXT),
    ("an element adds its reach around it", Box(500, 400, 100, 30),
     Box(500 - LABEL_REACH, 400 - LABEL_REACH, 720 - 500 + LABEL_REACH, 620 - 400 + LABEL_REACH)),
    # A field whose label lies left of the crop: read far enough to see it whole.
    ("a wide field reaches left", Box(200, 440, 500, 30), Box(200 - LABEL_REACH, 300, 700 + 2 * LABEL_REACH - 200, 320)),
    ("clamped to the screen", Box(10, 10, 100, 30), Box(0, 0, 720, 620)),
    ("a whole panel adds nothing", Box(0, 0, 1900, 1000), CONTEXT),
]


@pytest.mark.parametrize(("name", "element", "region"), REGION_CASES, ids=[c[0] for c in REGION_CASES])
def test_where_ocr_reads_for_an_anchor(name: str, element: Box | None, region: Box) -> None:
    assert text_region((1920, 1080), CONTEXT, element) == region


POINT_CASES = [
    # (text box relative to the recorded point, text box found now, monitor ratio, point)
    ("inside: the same fraction of a bigger box", (-10, -5, 40, 20), Box(200, 100, 80, 40), 1.0, (220, 110)),
    ("beside: the offset from the centre", (-60, -10, 40, 20), Box(200, 100, 40, 20), 1.0, (260, 110)),
    ("beside, on a 2x monitor: the offset doubled", (-60, -10, 40, 20), Box(200, 100, 80, 40), 2.0, (320, 120)),
    ("no recorded box: the middle of the text", None, Box(200, 100, 40, 20), 1.0, (220, 110)),
]


@pytest.mark.parametrize(("name", "recorded", "found", "ratio", "point"), POINT_CASES, ids=[c[0] for c in POINT_CASES])
def test_the_point_is_put_back_relative_to_its_text(
    name: str, recorded: tuple[int, int, int, int] | None, found: Box, ratio: float, point: tuple[int, int]
) -> None:
    assert point_from_text(recorded, found, ratio) == point


PICK_CASES = [
    ("none", [], 0),
    ("one", [box("Save", 0, 0, 40, 20)], "Save"),
    ("two the same", [box("Save", 0, 0, 40, 20), box("Save", 100, 0, 140, 20)], 2),
    ("the exact one over a misread one", [box("Save", 0, 0, 40, 20), box("Sane", 100, 0, 140, 20)], "Save"),
    ("two folded the same (0 for O)", [box("OK", 0, 0, 40, 20), box("0K", 100, 0, 140, 20)], 2),
]


@pytest.mark.parametrize(("name", "boxes", "expected"), PICK_CASES, ids=[c[0] for c in PICK_CASES])
def test_only_one_plausible_match_is_confident(name: str, boxes: list[TextBox], expected: str | int) -> None:
    chosen = pick(find_matches(boxes[0].text if boxes else "Save", boxes))
    assert (chosen if isinstance(chosen, int) else chosen.text) == expected


# -- anchors get their text from the reader ---------------------------------------------


BUTTON_BOX = Box(400, 300, 120, 40)  # the recorded button, as the accessibility tree reports it


def recorded_anchor(point: tuple[int, int] = POINT) -> Anchor:
    image = screen()
    return make_anchor(image, point, reader=ScreenReader(image, [label_box()]), element_box=BUTTON_BOX)


def test_an_anchor_keeps_the_text_under_its_point_and_where_it_is() -> None:
    anchor = recorded_anchor()
    label = label_box()
    assert anchor.text == "Save"
    assert anchor.text_box == (label.left - POINT[0], label.top - POINT[1], label.width, label.height)


def test_an_icon_keeps_the_label_beside_it_inside_its_button() -> None:
    image = screen()
    reader = ScreenReader(image, [label_box()])
    anchor = make_anchor(image, ICON, reader=reader, element_box=BUTTON_BOX)
    assert anchor.text == "Save" and anchor.text_box is not None
    left, _, width, _ = anchor.text_box
    assert left + width <= 0  # the text is left of the point
    # Without the element, text beside the point may be anyone's: none is kept.
    assert make_anchor(image, ICON, reader=ScreenReader(image, [label_box()])).text == ""


def test_ocr_reads_only_the_context_crop() -> None:
    image = screen()
    reader = ScreenReader(image, [label_box()])
    make_anchor(image, POINT, reader=reader)
    assert reader.sizes == [(320, 320)]


def test_an_ocr_that_fails_on_an_image_keeps_the_anchor_too() -> None:
    said: list[str] = []
    image = screen()
    anchor = AnchorMaker(ScreenReader(image, [], fail=RuntimeError("bad input shape")), said.append)(image, POINT)
    assert anchor.text == "" and anchor.crop
    assert said == ["anchors are saved without their text: the OCR engine failed: bad input shape"]


def test_an_ocr_that_cannot_load_keeps_the_anchors_without_text_and_says_so_once() -> None:
    said: list[str] = []
    image = screen()
    maker = AnchorMaker(ScreenReader(image, [label_box()], fail=OcrError("cannot load the OCR engine")), said.append)
    anchors = [maker(image, POINT), maker(image, ICON)]
    assert [a.text for a in anchors] == ["", ""] and all(a.crop for a in anchors)
    assert said == ["anchors are saved without their text: cannot load the OCR engine"]


# -- tier (c-ocr) ------------------------------------------------------------------------


def healer_for(image: Image.Image, boxes: list[TextBox], **kw: object) -> tuple[Healer, ScreenReader]:
    reader = ScreenReader(image, boxes, **kw)  # type: ignore[arg-type]
    return Healer(reader=OcrTextLocator(reader)), reader


def locate(healer: Healer, image: Image.Image, anchor: Anchor) -> Found | Miss:
    return healer.locate(FakeComputer(image=image).capture(), anchor, MONITOR)


def test_a_button_restyled_completely_is_found_by_its_label() -> None:
    anchor = recorded_anchor()
    image, (label,) = restyled_screen()
    assert isinstance(locate(Healer(), image, anchor), Miss)  # tiers (a) and (b) cannot find it
    healer, reader = healer_for(image, [label])
    found = locate(healer, image, anchor)
    assert isinstance(found, Found) and found.tier == "c-ocr" and found.score == 1.0
    old = label_box()
    fx, fy = (POINT[0] - old.left) / old.width, (POINT[1] - old.top) / old.height
    expected = (label.left + fx * label.width, label.top + fy * label.height)
    assert abs(found.point[0] - expected[0]) <= 2 and abs(found.point[1] - expected[1]) <= 2
    assert reader.reads == 2  # near the recorded place (not there), then the whole screen


def test_a_label_still_near_the_recorded_place_is_read_there_only() -> None:
    anchor = recorded_anchor()
    image, (label, far) = restyled_screen(((380, 290), (1300, 650)))
    healer, reader = healer_for(image, [label, far])
    found = locate(healer, image, anchor)
    assert isinstance(found, Found) and found.tier == "c-ocr"
    assert 380 <= found.point[0] <= 570 and 290 <= found.point[1] <= 354  # the near one, not the far twin
    assert reader.reads == 1 and reader.sizes[0] != image.size


def test_an_icon_is_found_beside_its_label() -> None:
    anchor = recorded_anchor(ICON)
    old = label_box()
    offset = (ICON[0] - old.center[0], ICON[1] - old.center[1])
    image, (label,) = restyled_screen(icon=offset)
    healer, _ = healer_for(image, [label])
    found = locate(healer, image, anchor)
    assert isinstance(found, Found) and found.tier == "c-ocr"
    icon = (label.center[0] + offset[0], label.center[1] + offset[1])
    assert abs(found.point[0] - icon[0]) <= 2 and abs(found.point[1] - icon[1]) <= 2  # on the green square


def test_the_same_label_twice_is_a_miss_not_a_guess() -> None:
    anchor = recorded_anchor()
    image, labels = restyled_screen(((1300, 650), (200, 900)))
    healer, _ = healer_for(image, labels)
    miss = locate(healer, image, anchor)
    assert isinstance(miss, Miss)
    assert "'Save' is on the screen 2 times" in miss.reason


def test_the_same_label_twice_is_never_clicked() -> None:
    from tests.test_macro_player import player

    image, labels = restyled_screen(((1300, 650), (200, 900)))
    play, computer = player(image)
    play.healer = healer_for(image, labels)[0]
    macro = Macro(monitor=MONITOR, steps=[MacroStep(action={"action": "left_click", "x": POINT[0], "y": POINT[1]}, anchor=recorded_anchor())])
    result = play.play(macro, [{}], "macro")
    assert result.outcome == "failure" and computer.performed == []


def test_an_anchor_without_text_skips_the_tier() -> None:
    anchor = recorded_anchor().model_copy(update={"text": "", "text_box": None})
    image, labels = restyled_screen()
    healer, reader = healer_for(image, labels)
    assert isinstance(locate(healer, image, anchor), Miss)
    assert reader.reads == 0


def test_tier_c_waits_for_tiers_a_and_b() -> None:
    # The button merely moved: tier (a) finds it, and OCR is never run (nor loaded).
    anchor = recorded_anchor()
    image = screen(at=(537, 391))
    healer, reader = healer_for(image, [label_box((537, 391))])
    found = locate(healer, image, anchor)
    assert isinstance(found, Found) and found.tier == "a-near" and reader.reads == 0


def test_an_ocr_that_cannot_load_at_replay_is_a_miss_that_says_why() -> None:
    anchor = recorded_anchor()
    image, labels = restyled_screen()
    healer, _ = healer_for(image, labels, fail=OcrError("cannot load the OCR engine (rapidocr, onnxruntime): gone"))
    miss = locate(healer, image, anchor)
    assert isinstance(miss, Miss) and "tier c-ocr could not run: cannot load the OCR engine" in miss.reason


def test_the_replay_says_it_healed_by_c_ocr_and_clicks_the_restyled_button() -> None:
    from tests.test_macro_player import player

    image, (label,) = restyled_screen()
    said: list[str] = []
    play, computer = player(image, settings=PlaySettings(anchor_timeout_s=0.0))
    play = MacroPlayer(play.executor, play.capture, play.harness, healer_for(image, [label])[0], play.settings, say=said.append)
    macro = Macro(monitor=MONITOR, steps=[MacroStep(action={"action": "left_click", "x": POINT[0], "y": POINT[1]}, anchor=recorded_anchor())])
    result = play.play(macro, [{}], "macro")
    assert result.outcome == "success", result
    (click,) = computer.performed
    assert label.left <= click.screen_xy[0] < label.right and label.top <= click.screen_xy[1] < label.bottom
    assert any(line.startswith("step 1: healed by tier c-ocr (score 1.00") for line in said), said
    assert play.log.steps[0].found is not None and play.log.steps[0].found.tier == "c-ocr"


# -- the real reader ----------------------------------------------------------------------


@pytest.mark.model  # loads rapidocr's models: seconds, like the tiny Qwen3-VL
def test_real_ocr_records_the_label_and_finds_the_restyled_button() -> None:
    from agent.access.ocr import RapidReader

    reader = RapidReader()
    anchor = make_anchor(screen(), POINT, reader=reader)
    assert anchor.text == "Save" and anchor.text_box is not None
    image, (label,) = restyled_screen()
    found = Healer(reader=OcrTextLocator(reader)).locate(FakeComputer(image=image).capture(), anchor, MONITOR)
    assert isinstance(found, Found) and found.tier == "c-ocr", found
    # rapidocr's box is a little looser than the drawn glyphs': the point lands on the label.
    assert label.left - 3 <= found.point[0] <= label.right + 3 and label.top - 3 <= found.point[1] <= label.bottom + 3


def test_a_target_still_appearing_is_found_by_its_look_not_by_its_label_elsewhere() -> None:
    # The first look shows another "Save" far away (the dialog is still opening); the
    # next ones show the recorded button. Tier (c) waits its turn, so the right one is clicked.
    from tests.test_macro_player import player

    before, (elsewhere,) = restyled_screen()
    play, computer = player(before, settings=PlaySettings(anchor_timeout_s=30.0))
    healer = healer_for(before, [elsewhere])[0]
    first_look = healer.locate

    def locate(*args: object, **kw: object) -> Found | Miss:
        result = first_look(*args, **kw)  # type: ignore[arg-type]
        computer.image = screen()  # the dialog is open now
        return result

    healer.locate = locate  # type: ignore[method-assign]
    play.healer = healer
    macro = Macro(monitor=MONITOR, steps=[MacroStep(action={"action": "left_click", "x": POINT[0], "y": POINT[1]}, anchor=recorded_anchor())])
    result = play.play(macro, [{}], "macro")
    assert result.outcome == "success", result
    assert play.log.steps[0].found is not None and play.log.steps[0].found.tier == "a-near"
    assert computer.clicked == [POINT]
