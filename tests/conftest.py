"""Shared fixtures: the devices to test on, and PyTorch as an optional oracle."""

from __future__ import annotations

import pytest

import tinyllm as tl

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not tl.cuda_is_available(), reason="CuPy sees no GPU on this machine"),
    ),
]


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Each test that takes ``device`` runs on "cpu", and on "cuda" when a GPU is available."""
    return request.param


@pytest.fixture
def torch():
    """PyTorch, or a skip when it is not installed."""
    return pytest.importorskip("torch", reason="PyTorch is not installed (it is only a test oracle)")


@pytest.fixture(autouse=True)
def _seed() -> None:
    tl.manual_seed(0)
