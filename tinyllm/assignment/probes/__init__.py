"""The graded probes: the assignment's hidden tests, never copied to students.

One function per check, registered by name in ``PROBES``; the task table
(:mod:`tinyllm.assignment.tasks`) says which checks grade which task and what each is
worth. A probe ``probe(seen, seed)`` draws its inputs from ``seed``, makes the package
compute, and reports each value through ``seen``; it holds no expected value.

The grader sends these modules' text to its child processes, which load them with
``tinyllm`` being the package under test: so they import ``tinyllm`` and each other,
but nothing from ``tinyllm.assignment``.
"""

from __future__ import annotations

from . import autograd, layers, ops, optim, sequence  # each registers its probes
from .common import PROBES

__all__ = ["PROBES"]
