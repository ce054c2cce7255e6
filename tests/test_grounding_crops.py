"""The crop frame and the small-structure measure: pure tables, no screen."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from agent.errors import ConfigError, OffGridError
from agent.geometry import CaptureGeometry, Region
from agent.grounding.crops import (
    CropWindow,
    crop_around,
    crop_model_to_image,
    crop_model_to_screen,
    crop_size,
)
from agent.imaging import structure_size_near
from agent.scaling import FrameKind, ModelFrame

REL1000 = ModelFrame(FrameKind.REL1000, 1000.0, 1000.0)
REL999 = ModelFrame(FrameKind.REL999, 999.0, 999.0)


@pytest.mark.parametrize(
    ("image", "zoom", "size"),
    [
        ((1920, 1080), 4, (480, 270)),
        ((2560, 1440), 4, (640, 360)),
        ((3840, 2160), 8, (480, 270)),
        ((400, 300), 4, (160, 160)),  # never below MIN_CROP_SIDE
        ((120, 90), 4, (120, 90)),  # nor larger than the image
    ],
)
def test_crop_size(image: tuple[int, int], zoom: float, size: tuple[int, int]) -> None:
    assert crop_size(*image, zoom) == size


@pytest.mark.parametrize(
    ("point", "box"),
    [
        ((960, 540), (720, 405, 1200, 675)),  # centred
        ((10, 10), (0, 0, 480, 270)),  # top-left corner: slides inward
        ((1920, 1080), (1440, 810, 1920, 1080)),  # the far corner itself
        ((1915.5, 20), (1440, 0, 1920, 270)),  # right edge, top
        ((0, 1079), (0, 810, 480, 1080)),  # left edge, bottom
    ],
)
def test_crop_around_stays_inside(point: tuple[float, float], box: tuple[int, int, int, int]) -> None:
    window = crop_around(point, 1920, 1080, (480, 270))
    assert window.box == box
    assert (window.width, window.height) == (480, 270)


def test_crop_outside_the_image_is_refused() -> None:
    with pytest.raises(ConfigError):
        crop_around((1921, 5), 1920, 1080, (480, 270))
    with pytest.raises(ConfigError):
        CropWindow(1500, 0, 480, 270, 1920, 1080)


@pytest.mark.parametrize(
    ("region", "image", "first", "frame", "model", "screen"),
    [
        # primary monitor, 1x: the crop at the top-left edge
        (Region(0, 0, 1920, 1080), (1920, 1080), (10, 10), REL1000, (500, 500), (240, 135)),
        # the far corner: 1000 on the crop is its last pixel, which is the screen's last
        (Region(0, 0, 1920, 1080), (1920, 1080), (1915, 1075), REL1000, (1000, 1000), (1919, 1079)),
        # a monitor left of and above the primary: negative origin
        (Region(-1920, -200, 1920, 1080), (1920, 1080), (960, 540), REL1000, (250, 500), (-1080, 340)),
        (Region(-1920, -200, 1920, 1080), (1920, 1080), (0, 0), REL1000, (0, 0), (-1920, -200)),
        # HiDPI (2 image pixels per input unit) with an offset, crop at the right edge
        (Region(100, 50, 1280, 720), (2560, 1440), (2550, 20), REL1000, (500, 500), (1220, 140)),
        # rel999: 999 is the crop's far edge
        (Region(0, 0, 1920, 1080), (1920, 1080), (5, 5), REL999, (999, 0), (479, 0)),
    ],
)
def test_crop_point_maps_back_exactly(
    region: Region,
    image: tuple[int, int],
    first: tuple[float, float],
    frame: ModelFrame,
    model: tuple[float, float],
    screen: tuple[int, int],
) -> None:
    capture = CaptureGeometry(region, *image)
    window = crop_around(first, *image, crop_size(*image))
    assert crop_model_to_screen(model, frame, window, capture) == screen


def test_crop_point_in_image_pixels() -> None:
    window = CropWindow(720, 405, 480, 270, 1920, 1080)
    assert crop_model_to_image((500, 500), REL1000, window) == (960.0, 540.0)
    assert crop_model_to_image((0, 1000), REL1000, window) == (720.0, 675.0)


def test_off_grid_on_the_crop_is_an_error() -> None:
    window = CropWindow(0, 0, 480, 270, 1920, 1080)
    with pytest.raises(OffGridError):
        crop_model_to_image((1001, 5), REL1000, window)


def test_crop_of_another_image_size_is_refused() -> None:
    window = CropWindow(0, 0, 480, 270, 1920, 1080)
    with pytest.raises(ConfigError):
        crop_model_to_screen((5, 5), REL1000, window, CaptureGeometry(Region(0, 0, 1280, 720), 2560, 1440))


def _picture() -> Image.Image:
    image = Image.new("RGB", (400, 300), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 100, 111, 111), fill=(20, 20, 20))  # a 12 px icon
    draw.rectangle((200, 20, 399, 280), fill=(40, 90, 200))  # a 200x261 panel
    return image


@pytest.mark.parametrize(
    ("point", "side"),
    [
        ((105, 105), 12),  # on the icon
        ((118, 104), 12),  # beside it: the nearest structure is the icon
        ((30, 250), 0),  # flat background
        ((300, 150), 0),  # deep inside the panel: uniform too
        ((190, 150), 97),  # at the panel's edge: at least the whole square (2*48+1)
    ],
)
def test_structure_size_near(point: tuple[int, int], side: int) -> None:
    assert structure_size_near(_picture(), point, 48) == side


def _widgets() -> Image.Image:
    image = Image.new("RGB", (600, 400), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 100, 111, 111), fill=(20, 20, 20))  # a 12 px icon
    draw.rectangle((300, 100, 359, 159), fill=(40, 90, 200))  # a 60 px button
    draw.rectangle((0, 250, 599, 399), fill=(40, 160, 90))  # a panel wider than the window
    return image


@pytest.mark.parametrize(
    ("point", "refine", "why"),
    [
        ((105, 105), True, "small structure (12 px)"),
        ((125, 105), True, "small structure (12 px)"),  # a miss beside the icon
        ((330, 130), False, "large structure (60 px) at the point"),
        ((370, 130), False, "large structure (97 px)"),  # beside the button: auto leaves it (measured limit)
        ((30, 30), False, "a uniform area"),
        ((300, 330), False, "a uniform area"),  # deep inside the panel
        ((300, 245), False, "large structure (97 px)"),  # beside the panel: not a whole structure
    ],
)
def test_auto_decides_by_the_structure_near_the_point(point: tuple[int, int], refine: bool, why: str) -> None:
    from agent.grounding.locate import GroundingAsker
    from agent.grounding.refine import RefineMode, Refiner
    from agent.testing.grounding import FakeGroundingBackend

    refiner = Refiner(GroundingAsker(FakeGroundingBackend({})), RefineMode.AUTO)
    decided, words = refiner.decide(_widgets(), point, 1.0)
    assert (decided, why in words) == (refine, True), words
