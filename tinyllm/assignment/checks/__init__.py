"""The graded checks: the assignment's hidden tests, never copied to students.

One function per check, registered by name in ``CHECKS``; the task table
(:mod:`tinyllm.assignment.tasks`) says which checks grade which task and what each is
worth. A check takes no arguments and raises when the submission fails it.

The grader's runner loads this package by path, in a process where ``tinyllm`` is the
submitted package; so these modules import ``tinyllm`` (the submission) but nothing
from ``tinyllm.assignment``.
"""

from __future__ import annotations

from . import layers, ops, optim, sequence  # each registers its checks
from .common import CHECKS, CheckFailed

__all__ = ["CHECKS", "CheckFailed"]
