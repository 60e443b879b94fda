"""One pyramid per image: reduced copies built once, the same for every stage."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from PIL import Image
from skimage import data

from deid.config import Config
from deid.pipeline import Pipeline
from deid.pyramid import Pyramid
from deid.stages.base import Context
from deid.types import StageResult


def _photo(width: int = 1601, height: int = 1203) -> np.ndarray:
    image = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    image.setflags(write=False)
    return image


def test_levels_are_successive_area_halvings_built_once() -> None:
    photo = _photo()
    pyramid = Pyramid(photo)
    expected = photo
    for n in range(1, 5):
        h, w = expected.shape[:2]
        expected = cv2.resize(expected, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        level = pyramid.level(n)
        assert np.array_equal(level, expected)
        assert not level.flags.writeable
        assert pyramid.level(n) is level
    assert pyramid.level(0) is photo


def test_grey_single_channel_levels_keep_their_channel_axis() -> None:
    grey = np.ascontiguousarray(_photo()[:, :, :1])
    assert Pyramid(grey).level(2).shape == (300, 400, 1)


def test_fit_is_close_to_a_direct_resize_and_shared() -> None:
    photo = _photo()
    pyramid = Pyramid(photo)
    image, scale = pyramid.fit(640)
    assert image.shape == (481, 640, 3)
    assert abs(scale - 640 / 1601) < 1e-9
    direct = cv2.resize(photo, (640, 481), interpolation=cv2.INTER_AREA)
    assert np.abs(image.astype(np.int16) - direct).mean() < 2.0
    assert pyramid.fit(640)[0] is image
    # Never enlarged: asking for more than the frame gives the frame.
    assert pyramid.fit(5000)[0] is photo
    covering, cover_scale = pyramid.covering(640)
    assert covering.shape[1] >= 640 > covering.shape[1] // 2 and cover_scale == 800 / 1601


def test_threads_asking_at_once_share_one_level() -> None:
    pyramid = Pyramid(_photo())
    with ThreadPoolExecutor(8) as pool:
        levels = list(pool.map(lambda _: pyramid.level(3), range(32)))
    assert all(level is levels[0] for level in levels)


class _Probe:
    """A stage that only looks: what pyramid and reduced copy did it get?"""

    def __init__(self, name: str, seen: list[tuple[Pyramid, np.ndarray]]) -> None:
        self.name = name
        self.seen = seen

    def run(self, image: np.ndarray, context: Context) -> StageResult:
        fitted, _ = context.pyramid.fit(320)
        assert context.pyramid.full is context.frame.pixels
        self.seen.append((context.pyramid, fitted))
        return StageResult()


def test_every_stage_of_one_image_gets_the_same_pyramid() -> None:
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, "JPEG", quality=95)
    seen: list[tuple[Pyramid, np.ndarray]] = []
    stages = [_Probe("first", seen), _Probe("second", seen)]
    with Pipeline(Config(), stages=stages) as pipe:  # type: ignore[list-item]
        first = pipe.process(buf.getvalue())
        assert first.ok
        pipe.process(buf.getvalue())
    (pyramid, fitted), (pyramid_2, fitted_2), (next_pyramid, _), _ = seen
    assert pyramid is pyramid_2 and fitted is fitted_2  # built once within an image
    assert fitted.shape == (240, 320, 3)
    assert next_pyramid is not pyramid  # and anew for the next image
