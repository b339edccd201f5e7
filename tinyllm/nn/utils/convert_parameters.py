"""All of a model's parameters as one flat vector, and back (PyTorch's ``parameters_to_vector``).

Useful where an algorithm sees the weights as a single point in R^n: a line search,
a finite-difference check, the distance between two models, weight averaging.
"""

from __future__ import annotations

from collections.abc import Iterable

from tinyllm import backend, ops
from tinyllm.autograd import no_grad
from tinyllm.tensor import Tensor


def _as_list(parameters: Iterable[Tensor] | Tensor, fn: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if params:
        backend.check_same_device([p.data for p in params], fn)
    return params


def parameters_to_vector(parameters: Iterable[Tensor] | Tensor) -> Tensor:
    """Every parameter flattened and joined, in order: a (sum of numel,) tensor.

    Differentiable: it is ``cat`` of reshapes, so a loss of the vector sends gradients
    back to the parameters.
    """
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return ops.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor] | Tensor) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in order (no graph recorded).

    The inverse of :func:`parameters_to_vector`. The values are copied, not shared (in
    PyTorch each parameter becomes a view of ``vec``), and a ``vec`` whose length is not
    the parameters' total count is refused (PyTorch ignores extra elements).
    """
    fn = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, but got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"{fn}: vec must be 1-D, not of shape {vec.shape}")
    params = _as_list(parameters, fn)
    backend.check_same_device([vec.data, *(p.data for p in params)], fn)
    total = sum(p.numel() for p in params)
    if vec.shape[0] != total:
        raise ValueError(f"{fn}: vec has {vec.shape[0]} elements but the parameters hold {total}")
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.data[start : start + n].reshape(p.shape))
            start += n
