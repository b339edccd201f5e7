"""Shared fixtures: the devices to test on, and PyTorch as an optional oracle."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture(autouse=True)
def _default_device_restored() -> Iterator[None]:
    """A test that sets the default device (tl.set_default_device) must set it back to the CPU."""
    yield
    leaked = tl.get_default_device()
    tl.set_default_device(None)  # the next test starts on the CPU either way
    assert leaked == "cpu", f"the test left the default device at {leaked}; restore it with tl.set_default_device(None)"
