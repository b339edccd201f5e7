"""einsum: products and sums of tensors written in index notation.

``einsum("ij,jk->ik", a, b)`` is the matrix product: every letter is an axis; the
output keeps the letters after ``->``, and every other letter is summed over. Each
term of the sum is a product of one element from every operand, so the derivative
with respect to one operand is the same sum over the *other* operands and the
output's gradient: the backward of an einsum is another einsum,

    d/dA of "ij,jk->ik"  is  "ik,jk->ij" applied to (dY, B).

Two cases need a helper operand. A letter of A that appears nowhere else (summed
over in A alone, as j in "ij->i") gets a ones vector, since dY does not vary along
it. A letter repeated in A (a diagonal, as in the trace "ii->") gets an identity
matrix, since only the diagonal elements took part.
"""

from __future__ import annotations

import string
from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.tensor import Tensor


class Einsum(Function):
    """Y = einsum(``inputs`` -> ``output``, *xs);  dx_k = einsum(output, the other inputs -> inputs[k])."""

    def forward(self, *xs: Any, inputs: list[str], output: str) -> Any:
        self.xs, self.inputs_subs, self.output = xs, inputs, output
        y = contract(f"{','.join(inputs)}->{output}", *xs)
        return y.copy() if y.base is not None else y  # "ij->ji" gives a view: the output owns its memory

    def backward(self, gy: Any) -> tuple[Any, ...]:
        return tuple(self.grad_of(k, gy) if self.needs_grad(k) else None for k in range(len(self.xs)))

    def grad_of(self, k: int, gy: Any) -> Any:
        """The gradient of operand k: an einsum of dY and the other operands, plus helpers."""
        xp = get_array_module(gy)
        subs, x = self.inputs_subs[k], self.xs[k]
        size = dict(zip(subs, x.shape))
        terms = [(self.output, gy)] + [(s, a) for j, (s, a) in enumerate(zip(self.inputs_subs, self.xs)) if j != k]
        free = iter(c for c in string.ascii_letters if c not in "".join(self.inputs_subs) + self.output)
        target = ""
        for c in subs:
            if c in target:  # a repeated letter: a fresh one, tied to it by an identity matrix
                fresh = next(free)
                terms.append((c + fresh, xp.eye(size[c], dtype=gy.dtype)))
                c = fresh
            target += c
        for c in dict.fromkeys(subs):
            if not any(c in s for s, _ in terms):  # summed in this operand alone
                terms.append((c, xp.ones(size[c], dtype=gy.dtype)))
        return contract(",".join(s for s, _ in terms) + "->" + target, *(a for _, a in terms))


def contract(equation: str, *arrays: Any) -> Any:
    """NumPy's (or CuPy's) einsum. With ``optimize`` it contracts pairwise through matrix products
    (BLAS) in a good order, where the plain loop would be many times slower."""
    return get_array_module(arrays[0]).einsum(equation, *arrays, optimize=len(arrays) > 1)


def parse(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The letters of each operand and of the output, checked against the operands' shapes.

    Without ``->`` the output is every letter that appears once, in alphabetical order
    (einsum's implicit mode). Ellipsis (``...``) is not supported.
    """
    eq = equation.replace(" ", "")
    if "." in eq:
        raise ValueError(f"einsum: '...' (ellipsis) is not supported in tinyllm, got {equation!r}")
    lhs, arrow, output = eq.partition("->")
    inputs = lhs.split(",")
    letters = "".join(inputs)
    if not all(c.isalpha() and c.isascii() for c in letters + output):
        raise ValueError(f"einsum: subscripts must be letters a-z, A-Z, got {equation!r}")
    if not arrow:
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operand(s), but {len(shapes)} were given")
    if len(set(output)) != len(output) or any(c not in letters for c in output):
        raise ValueError(f"einsum: output {output!r} must use distinct letters that appear in the inputs")
    size: dict[str, int] = {}
    for k, (subs, shape) in enumerate(zip(inputs, shapes)):
        if len(subs) != len(shape):
            raise ValueError(f"einsum: operand {k} has shape {shape}, but subscripts {subs!r} name {len(subs)} dims")
        for c, n in zip(subs, shape):
            if size.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} stands for sizes {size[c]} and {n} (operand {k}, {shape})")
    return inputs, output


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum of products of ``operands`` as ``equation`` says (``"ij,jk->ik"``, ``"bij->bji"``, ``"ii->"``).

    Operands may also come as one list. Differences from PyTorch: no ellipsis, a letter
    must have the same size in every operand (no size-1 broadcasting), and all operands
    must have one dtype.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum: expected one or more tensors after the equation")
    if len({t.dtype for t in operands}) > 1:
        raise TypeError(f"einsum: operands must share one dtype, got {[str(t.dtype) for t in operands]}")
    inputs, output = parse(equation, [t.shape for t in operands])
    return Einsum.apply(*operands, inputs=inputs, output=output)
