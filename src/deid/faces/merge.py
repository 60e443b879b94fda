"""Merging the candidates of several passes into one face each."""

from __future__ import annotations

from collections.abc import Iterable

from .geometry import Detection


def overlap(a: Detection, b: Detection) -> float:
    """Intersection over the smaller box: catches a face found whole and in part."""
    ax0, ay0, ax1, ay1 = a.bounds()
    bx0, by0, bx1, by1 = b.bounds()
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return iw * ih / smaller if smaller > 0 else 0.0


def merge(candidates: Iterable[Detection], threshold: float = 0.4) -> list[Detection]:
    """Greedy suppression: best score first, keypoint-bearing candidates preferred."""
    # Scores are bucketed so that among near-equal candidates a whole-frame pass beats a
    # tile (tiles see faces off-centre) and then the larger box (the whole face) wins.
    ordered = sorted(
        candidates,
        key=lambda d: (
            d.keypoints is not None,
            round(d.score, 1),
            "tile" not in d.detector,
            d.size,
        ),
        reverse=True,
    )
    kept: list[Detection] = []
    for cand in ordered:
        if all(overlap(cand, k) < threshold for k in kept):
            kept.append(cand)
    return kept


def dedupe(candidates: Iterable[Detection]) -> list[Detection]:
    """Drop near-copies (same place, similar size) from the several passes, keeping the
    best; unlike ``merge`` it never lets a large box swallow smaller ones."""
    kept: list[Detection] = []
    for cand in sorted(candidates, key=lambda d: (round(d.score, 1), d.size), reverse=True):
        if all(overlap(cand, k) < 0.6 or not 0.67 <= cand.size / k.size <= 1.5 for k in kept):
            kept.append(cand)
    return kept
