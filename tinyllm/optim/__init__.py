"""Optimizers, named as in PyTorch's ``torch.optim``, learning-rate schedules, and step tracing.

SGD, Adam, AdamW, RMSprop, Adagrad, NAdam, RAdam, Adamax and Adadelta follow PyTorch's documented update rules;
every optimizer also takes ``l1`` (a proximal L1 step, see :class:`Optimizer`).
``tl.optim.lr_scheduler`` holds the schedules, ``tl.optim.trace`` records steps,
``SwitchOptimizer`` runs one optimizer after another (staged training);
``OptimizerLike`` is the protocol that both kinds satisfy (what ``fit`` drives).
"""

from __future__ import annotations

from tinyllm.optim import lr_scheduler
from tinyllm.optim.adadelta import Adadelta
from tinyllm.optim.adagrad import Adagrad
from tinyllm.optim.adam import Adam, AdamW
from tinyllm.optim.adamax import Adamax
from tinyllm.optim.nadam import NAdam
from tinyllm.optim.optimizer import Optimizer, soft_threshold
from tinyllm.optim.protocol import OptimizerLike
from tinyllm.optim.radam import RAdam
from tinyllm.optim.rmsprop import RMSprop
from tinyllm.optim.sgd import SGD
from tinyllm.optim.switch import SwitchOptimizer
from tinyllm.optim.trace import StepLog, trace

__all__ = [
    "SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "OptimizerLike", "RMSprop", "StepLog", "lr_scheduler",
    "SwitchOptimizer", "soft_threshold", "trace",
    "Adadelta", "Adamax", "NAdam", "RAdam",
]  # fmt: skip
