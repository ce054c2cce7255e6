"""Coordinate spaces: model frames → captured image → monitor → virtual desktop → input units."""

from __future__ import annotations

import pytest

from agent.actions import Key, LeftClick
from agent.errors import ConfigError, OffGridError, OffScreenError
from agent.geometry import CaptureGeometry, Region, parse_region
from agent.scaling import (
    FrameKind,
    ModelFrame,
    clamp_to_image,
    image_to_screen,
    model_to_image,
    model_to_screen,
    screen_to_image,
    screen_to_model,
    smart_resize,
    to_screen_action,
)

FULL_HD = CaptureGeometry.unscaled(Region(0, 0, 1920, 1080))
LEFT_OF_PRIMARY = CaptureGeometry.unscaled(Region(-1920, 0, 1920, 1080))
ABOVE_PRIMARY = CaptureGeometry.unscaled(Region(0, -1440, 2560, 1440))
RIGHT_OF_PRIMARY = CaptureGeometry.unscaled(Region(1920, 0, 2560, 1440))
# A 2x HiDPI monitor: 2880x1800 captured pixels for 1440x900 input units.
RETINA = CaptureGeometry(Region(0, 0, 1440, 900), 2880, 1800)
RETINA_RIGHT = CaptureGeometry(Region(1440, -100, 1440, 900), 2880, 1800)
ODD = CaptureGeometry.unscaled(Region(0, 0, 1023, 767))

SCREEN_CASES = [
    # (frame kind, capture, model point, expected screen point)
    ("rel1000", FULL_HD, (0, 0), (0, 0)),
    ("rel1000", FULL_HD, (1000, 1000), (1919, 1079)),  # the edge value is the last pixel
    ("rel1000", FULL_HD, (500, 500), (960, 540)),
    ("rel1000", FULL_HD, (0, 1000), (0, 1079)),  # 0 is kept, never treated as "missing"
    ("rel1000", FULL_HD, (999.9, 0.04), (1919, 0)),
    ("rel999", FULL_HD, (999, 999), (1919, 1079)),
    ("rel999", FULL_HD, (0, 0), (0, 0)),
    ("rel999", FULL_HD, (499.5, 499.5), (960, 540)),
    ("rel1000", ODD, (1000, 1000), (1022, 766)),
    ("rel1000", ODD, (500, 500), (511, 383)),
    ("rel1000", LEFT_OF_PRIMARY, (0, 0), (-1920, 0)),
    ("rel1000", LEFT_OF_PRIMARY, (1000, 1000), (-1, 1079)),
    ("rel1000", LEFT_OF_PRIMARY, (500, 500), (-960, 540)),
    ("rel1000", ABOVE_PRIMARY, (500, 0), (1280, -1440)),
    ("rel1000", ABOVE_PRIMARY, (500, 1000), (1280, -1)),
    ("rel1000", RIGHT_OF_PRIMARY, (0, 0), (1920, 0)),
    ("rel1000", RIGHT_OF_PRIMARY, (1000, 1000), (4479, 1439)),
    ("rel1000", RETINA, (500, 500), (720, 450)),  # HiDPI: input units, not captured pixels
    ("rel1000", RETINA, (1000, 1000), (1439, 899)),
    ("rel1000", RETINA_RIGHT, (0, 0), (1440, -100)),
    ("rel1000", RETINA_RIGHT, (1000, 1000), (2879, 799)),
    # Qwen2.5: absolute pixels of the smart-resized image (1920x1080 → 1932x1092)
    ("qwen25", FULL_HD, (966, 546), (960, 540)),
    ("qwen25", FULL_HD, (1932, 1092), (1919, 1079)),
    ("qwen25", FULL_HD, (0, 0), (0, 0)),
]


@pytest.mark.parametrize(("kind", "capture", "model_xy", "screen_xy"), SCREEN_CASES)
def test_model_to_screen(
    kind: str, capture: CaptureGeometry, model_xy: tuple[float, float], screen_xy: tuple[int, int]
) -> None:
    frame = ModelFrame.for_image(kind, capture.image_width, capture.image_height)
    assert model_to_screen(model_xy, frame, capture) == screen_xy


OFF_GRID = [
    ("rel1000", (2530, 500)),
    ("rel1000", (500, 1000.5)),
    ("rel1000", (-1, 0)),
    ("rel999", (1000, 0)),
    ("qwen25", (1933, 10)),
    ("rel1000", (float("nan"), 1)),
]


@pytest.mark.parametrize(("kind", "model_xy"), OFF_GRID)
def test_off_grid_is_an_error_not_a_clamp(kind: str, model_xy: tuple[float, float]) -> None:
    frame = ModelFrame.for_image(kind, 1920, 1080)
    with pytest.raises(OffGridError):
        model_to_screen(model_xy, frame, FULL_HD)


def test_off_grid_message_names_the_frame_and_range() -> None:
    frame = ModelFrame.for_image("rel1000", 1920, 1080)
    with pytest.raises(OffGridError, match=r"\(2530, 500\) is outside the rel1000 frame: x must be 0..1000"):
        model_to_screen((2530, 500), frame, FULL_HD)


@pytest.mark.parametrize("capture", [FULL_HD, LEFT_OF_PRIMARY, ABOVE_PRIMARY, RETINA, RETINA_RIGHT, ODD])
@pytest.mark.parametrize("kind", list(FrameKind))
def test_round_trip_screen_model_screen(kind: FrameKind, capture: CaptureGeometry) -> None:
    frame = ModelFrame.for_image(kind, capture.image_width, capture.image_height)
    region = capture.region
    for sx in (region.left, region.left + 1, region.left + region.width // 3, region.right - 1):
        for sy in (region.top, region.top + region.height // 2, region.bottom - 1):
            assert model_to_screen(screen_to_model((sx, sy), frame, capture), frame, capture) == (sx, sy)


def test_rounded_model_coordinates_land_within_one_grid_cell() -> None:
    frame = ModelFrame.for_image("rel1000", 1920, 1080)
    for sx in range(0, 1920, 97):
        mx, my = screen_to_model((sx, 700), frame, FULL_HD)
        back = model_to_screen((round(mx), round(my)), frame, FULL_HD)
        assert abs(back[0] - sx) <= 1920 / 1000 and abs(back[1] - 700) <= 1080 / 1000


def test_screen_to_model_rejects_points_off_the_capture() -> None:
    frame = ModelFrame.for_image("rel1000", 1920, 1080)
    with pytest.raises(OffScreenError):
        screen_to_model((1920, 0), frame, FULL_HD)


def test_model_to_image_keeps_captured_pixel_density() -> None:
    frame = ModelFrame.for_image("rel1000", 2880, 1800)
    assert model_to_image((500, 250), frame, 2880, 1800) == (1440.0, 450.0)


@pytest.mark.parametrize(
    ("size", "budget", "expected"),
    [
        ((1080, 1920), (3136, 12845056), (1092, 1932)),
        ((1080, 1920), (3136, 1003520), (728, 1316)),
        ((10, 10), (3136, 1003520), (56, 56)),
        ((767, 1023), (3136, 12845056), (756, 1036)),
    ],
)
def test_smart_resize_matches_the_qwen_processor(
    size: tuple[int, int], budget: tuple[int, int], expected: tuple[int, int]
) -> None:
    h, w = smart_resize(*size, 28, min_pixels=budget[0], max_pixels=budget[1])
    assert (h, w) == expected
    assert h % 28 == 0 and w % 28 == 0 and budget[0] <= h * w <= budget[1]


def test_qwen25_frame_uses_the_resized_size_and_budget() -> None:
    frame = ModelFrame.for_image("qwen25", 1920, 1080, max_pixels=1003520)
    assert (frame.extent_x, frame.extent_y) == (1316, 728)
    assert model_to_screen((658, 364), frame, FULL_HD) == (960, 540)


def test_unknown_frame_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown frame 'rel100'"):
        ModelFrame.for_image("rel100", 10, 10)


def test_to_screen_action_attaches_the_pixel_and_passes_keys_through() -> None:
    frame = ModelFrame.for_image("rel1000", 1920, 1080)
    click = to_screen_action(LeftClick(coordinate=(500, 500)), frame, LEFT_OF_PRIMARY)
    assert click.to_json_dict() == {"action": "left_click", "x": -960, "y": 540}
    key = to_screen_action(Key(keys=("ctrl", "s")), frame, LEFT_OF_PRIMARY)
    assert key.to_json_dict() == {"action": "key", "keys": ["ctrl", "s"]}


@pytest.mark.parametrize(
    ("spec", "region"),
    [
        ("1920x1080", Region(0, 0, 1920, 1080)),
        ("1920x1080+0+0", Region(0, 0, 1920, 1080)),
        ("1920x1080+1920+0", Region(1920, 0, 1920, 1080)),
        ("1920x1080+-1920+0", Region(-1920, 0, 1920, 1080)),
        ("1920x1080-1920+0", Region(-1920, 0, 1920, 1080)),
        ("2560x1440+0-1440", Region(0, -1440, 2560, 1440)),
    ],
)
def test_parse_region(spec: str, region: Region) -> None:
    assert parse_region(spec) == region


@pytest.mark.parametrize("spec", ["1920", "1920x", "x1080", "0x1080", "1920x1080+5", "axb", "1920x1080+1+2+3"])
def test_parse_region_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ConfigError, match="bad screen"):
        parse_region(spec)


@pytest.mark.parametrize("size", [(1080, 1920), (1440, 2560), (2160, 3840), (767, 1023), (57, 4000), (900, 1440)])
@pytest.mark.parametrize("budget", [(3136, 12845056), (3136, 1003520), (200_000, 400_000)])
def test_smart_resize_agrees_with_transformers(size: tuple[int, int], budget: tuple[int, int]) -> None:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as reference

    ours = smart_resize(*size, 28, min_pixels=budget[0], max_pixels=budget[1])
    assert ours == tuple(reference(*size, 28, budget[0], budget[1]))


# The one image↔screen pixel rule (macros, the lost-target window, the recorder all use it).
PIXEL_CASES = [
    # (capture, image point, screen point)
    (FULL_HD, (0, 0), (0, 0)),
    (FULL_HD, (1919, 1079), (1919, 1079)),
    (FULL_HD, (1920, 1080), (1919, 1079)),  # the far edge is clamped onto the last pixel
    (RETINA, (0, 0), (0, 0)),
    (RETINA, (1, 1), (0, 0)),  # both image pixels of input pixel 0
    (RETINA, (2879, 1799), (1439, 899)),
    (RETINA, (2880, 1800), (1439, 899)),
    (RETINA_RIGHT, (2, 4), (1441, -98)),
    (LEFT_OF_PRIMARY, (5, 7), (-1915, 7)),
    (CaptureGeometry(Region(0, 0, 100, 100), 150, 150), (149, 149), (99, 99)),  # 1.5x
]


@pytest.mark.parametrize(("capture", "image_xy", "screen_xy"), PIXEL_CASES)
def test_image_to_screen(capture: CaptureGeometry, image_xy: tuple[int, int], screen_xy: tuple[int, int]) -> None:
    assert image_to_screen(image_xy, capture) == screen_xy


@pytest.mark.parametrize(
    ("capture", "screen_xy", "image_xy"),
    [
        (FULL_HD, (0, 0), (0, 0)),
        (FULL_HD, (1919, 1079), (1919, 1079)),
        (RETINA, (1439, 899), (2878, 1798)),  # the first image pixel of the input pixel
        (RETINA_RIGHT, (1441, -98), (2, 4)),
        (LEFT_OF_PRIMARY, (-1915, 7), (5, 7)),
        (CaptureGeometry(Region(0, 0, 100, 100), 110, 110), (10, 10), (11, 11)),  # 10 * 1.1 is 11.000000000000002
    ],
)
def test_screen_to_image(capture: CaptureGeometry, screen_xy: tuple[int, int], image_xy: tuple[int, int]) -> None:
    assert screen_to_image(screen_xy, capture) == image_xy


@pytest.mark.parametrize(
    "capture",
    [FULL_HD, RETINA, RETINA_RIGHT, ODD, CaptureGeometry(Region(0, 0, 100, 80), 150, 120),
     CaptureGeometry(Region(0, 0, 100, 80), 125, 100), CaptureGeometry(Region(5, 5, 100, 80), 110, 88)],
)
def test_screen_to_image_and_back_is_the_same_input_pixel(capture: CaptureGeometry) -> None:
    region = capture.region
    for sx in range(region.left, region.right, max(1, region.width // 97)):
        for sy in (region.top, region.top + region.height // 2, region.bottom - 1):
            assert image_to_screen(screen_to_image((sx, sy), capture), capture) == (sx, sy)


@pytest.mark.parametrize(
    ("call", "point"),
    [("image", (1920.5, 10)), ("image", (-1, 10)), ("screen", (1920, 0)), ("screen", (0, -1))],
)
def test_points_beyond_the_capture_are_refused_not_clamped(call: str, point: tuple[int, int]) -> None:
    with pytest.raises(OffScreenError):
        if call == "image":
            image_to_screen(point, FULL_HD)
        else:
            screen_to_image(point, FULL_HD)


@pytest.mark.parametrize(
    ("image_xy", "clamped"),
    [((-5, 10), (0, 10)), ((2000, 1100), (1920, 1080)), ((10.5, 20), (10.5, 20))],
)
def test_clamp_to_image_puts_a_point_past_an_edge_on_it(
    image_xy: tuple[float, float], clamped: tuple[float, float]
) -> None:
    assert clamp_to_image(image_xy, FULL_HD) == clamped
