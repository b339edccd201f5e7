"""Bad input to optimizers and schedulers: a named error, or PyTorch's result."""

from __future__ import annotations

import math

import pytest

import tinyllm as tl
from tinyllm import optim
from tinyllm.optim import lr_scheduler

NAN, INF = math.nan, math.inf


def _p() -> tl.Tensor:
    return tl.randn(2, 3, requires_grad=True)


def _opt(**kw):  # an SGD over one fresh parameter, for the schedulers
    return optim.SGD([_p()], lr=0.1, **kw)


OPTIMIZER_CASES = [
    # learning rates
    (lambda: optim.SGD([_p()], lr=-0.1), ValueError, r"lr=-0\.1.*>= 0"),
    (lambda: optim.SGD([_p()], lr=NAN), ValueError, r"lr=nan"),
    (lambda: optim.SGD([_p()], lr=INF), ValueError, r"lr=inf"),
    (lambda: optim.SGD([_p()], lr="0.1"), TypeError, r"lr.*str"),
    (lambda: optim.SGD([_p()], lr=None), TypeError, r"lr.*None"),
    (lambda: optim.Adam([_p()], lr=-1e-3), ValueError, r"lr=-0\.001"),
    (lambda: optim.Adam([_p()], lr=NAN), ValueError, r"lr=nan"),
    (lambda: optim.AdamW([_p()], lr=-1.0), ValueError, r"lr=-1"),
    (lambda: optim.RMSprop([_p()], lr=-1.0), ValueError, r"lr=-1"),
    (lambda: optim.Adagrad([_p()], lr=-1.0), ValueError, r"lr=-1"),
    (lambda: optim.Adagrad([_p()], lr=NAN), ValueError, r"lr=nan"),
    # weight decay and l1
    (lambda: optim.SGD([_p()], weight_decay=-1e-4), ValueError, r"weight_decay=-0\.0001"),
    (lambda: optim.SGD([_p()], weight_decay=NAN), ValueError, r"weight_decay=nan"),
    (lambda: optim.Adam([_p()], weight_decay=-1.0), ValueError, r"weight_decay=-1"),
    (lambda: optim.AdamW([_p()], weight_decay=INF), ValueError, r"weight_decay=inf"),
    (lambda: optim.RMSprop([_p()], weight_decay=-1.0), ValueError, r"weight_decay=-1"),
    (lambda: optim.Adagrad([_p()], weight_decay=-1.0), ValueError, r"weight_decay=-1"),
    (lambda: optim.SGD([_p()], l1=-0.1), ValueError, r"l1=-0\.1"),
    (lambda: optim.Adam([_p()], l1=NAN), ValueError, r"l1=nan"),
    # momentum, dampening, Nesterov
    (lambda: optim.SGD([_p()], momentum=-0.9), ValueError, r"momentum=-0\.9"),
    (lambda: optim.SGD([_p()], momentum=NAN), ValueError, r"momentum=nan"),
    (lambda: optim.SGD([_p()], nesterov=True), ValueError, r"Nesterov.*momentum > 0"),
    (lambda: optim.SGD([_p()], momentum=0.9, dampening=0.1, nesterov=True), ValueError, r"dampening = 0"),
    (lambda: optim.SGD([_p()], momentum=0.9, dampening=NAN), ValueError, r"dampening=nan"),
    (lambda: optim.RMSprop([_p()], momentum=-0.1), ValueError, r"momentum=-0\.1"),
    # betas and eps
    (lambda: optim.Adam([_p()], betas=(1.0, 0.999)), ValueError, r"beta.*index 0.*\[0, 1\)"),
    (lambda: optim.Adam([_p()], betas=(0.9, 1.0)), ValueError, r"beta.*index 1"),
    (lambda: optim.Adam([_p()], betas=(-0.1, 0.999)), ValueError, r"beta.*index 0"),
    (lambda: optim.Adam([_p()], betas=(NAN, 0.999)), ValueError, r"beta.*index 0: nan"),
    (lambda: optim.AdamW([_p()], betas=(0.9, INF)), ValueError, r"beta.*index 1: inf"),
    (lambda: optim.Adam([_p()], betas=(0.9,)), ValueError, r"betas.*two"),
    (lambda: optim.Adam([_p()], betas=(0.9, 0.99, 0.999)), ValueError, r"betas.*two"),
    (lambda: optim.Adam([_p()], betas=0.9), TypeError, r"betas must be a pair"),
    (lambda: optim.Adam([_p()], betas=("0.9", 0.999)), TypeError, r"beta at index 0.*str"),
    (lambda: optim.Adam([_p()], eps=-1e-8), ValueError, r"eps=-1e-08"),
    (lambda: optim.Adam([_p()], eps=NAN), ValueError, r"eps=nan"),
    (lambda: optim.RMSprop([_p()], eps=-1.0), ValueError, r"eps=-1"),
    (lambda: optim.RMSprop([_p()], alpha=1.5), ValueError, r"alpha=1\.5.*\[0, 1\]"),
    (lambda: optim.RMSprop([_p()], alpha=NAN), ValueError, r"alpha=nan"),
    (lambda: optim.Adagrad([_p()], eps=-1.0), ValueError, r"eps=-1"),
    (lambda: optim.Adagrad([_p()], lr_decay=-0.1), ValueError, r"lr_decay=-0\.1"),
    (lambda: optim.Adagrad([_p()], initial_accumulator_value=-1.0), ValueError, r"initial_accumulator_value=-1"),
    # params
    (lambda: optim.SGD([], lr=0.1), ValueError, r"empty parameter list"),
    (lambda: optim.Adam(iter([])), ValueError, r"empty parameter list"),
    (lambda: optim.SGD(_p(), lr=0.1), TypeError, r"not a single tensor.*wrap it in a list"),
    (lambda: optim.SGD(None, lr=0.1), TypeError, r"params.*NoneType"),
    (lambda: optim.SGD(3, lr=0.1), TypeError, r"params.*int"),
    (lambda: optim.SGD([tl.tensor([1, 2], dtype=tl.int64)], lr=0.1), TypeError, r"parameter 0 has dtype int64"),
    (lambda: optim.SGD([_p(), 1.0], lr=0.1), TypeError, r"parameter 1 is a float"),
    (lambda: optim.SGD([_p() * 2], lr=0.1), ValueError, r"parameter 0.*not a leaf"),
    (lambda: (lambda p: optim.SGD([p, p], lr=0.1))(_p()), ValueError, r"more than once"),
    (lambda: (lambda p: optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1))(_p()), ValueError, r"more than once"),
    (lambda: optim.SGD([{"lr": 0.1}], lr=0.1), ValueError, r"group 0.*'params'"),
    (lambda: optim.SGD([{"params": [_p()], "lr": -1.0}], lr=0.1), ValueError, r"lr=-1"),
    (lambda: optim.SGD([{"params": [_p()]}, _p()], lr=0.1), TypeError, r"group 1.*dict"),
    (lambda: optim.Adam([{"params": [_p()], "betas": (0.9, 2.0)}]), ValueError, r"index 1: 2\.0"),
]


@pytest.mark.parametrize(("build", "error", "match"), OPTIMIZER_CASES)
def test_optimizer_refuses_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_add_param_group_names_a_missing_params_key():
    opt = optim.SGD([_p()], lr=0.1)
    with pytest.raises(ValueError, match=r"add_param_group.*'params'"):
        opt.add_param_group({"lr": 0.01})


def test_add_param_group_refuses_a_bad_lr():
    opt = optim.Adam([_p()])
    with pytest.raises(ValueError, match=r"lr=nan"):
        opt.add_param_group({"params": [_p()], "lr": NAN})


def test_step_closure_must_be_callable():
    opt = optim.SGD([_p()], lr=0.1)
    with pytest.raises(TypeError, match=r"closure.*callable"):
        opt.step(closure=1.0)


def test_load_state_dict_names_a_missing_key():
    opt = optim.SGD([_p()], lr=0.1)
    with pytest.raises(ValueError, match=r"load_state_dict.*'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_load_state_dict_names_an_unknown_parameter_index():
    opt = optim.SGD([_p()], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["state"] = {7: {"momentum_buffer": None}}
    with pytest.raises(ValueError, match=r"load_state_dict.*parameter 7"):
        opt.load_state_dict(state)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("SGD", {"lr": 0.0}), ("SGD", {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0}), ("Adam", {"eps": 0.0}),
     ("Adam", {"betas": (0.0, 0.0)}), ("RMSprop", {"alpha": 0.0}), ("RMSprop", {"alpha": 1.0}),
     ("Adagrad", {"lr_decay": 0.0, "eps": 1e-10}), ("AdamW", {"weight_decay": 0.0})],
)
def test_edge_hyperparameters_match_torch(torch, name, kwargs):
    """Values at the edge of the valid range that PyTorch accepts give PyTorch's steps."""
    import numpy as np

    start = np.random.default_rng(0).standard_normal((3, 4))
    grads = [np.random.default_rng(k).standard_normal((3, 4)) for k in (1, 2, 3)]
    p = tl.tensor(start.copy(), requires_grad=True)
    q = torch.tensor(start.copy(), requires_grad=True)
    ours = getattr(optim, name)([p], **kwargs)
    theirs = getattr(torch.optim, name)([q], **kwargs)
    for g in grads:
        p.grad = tl.tensor(g)
        q.grad = torch.tensor(g)
        ours.step()
        theirs.step()
    np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


SCHEDULER_CASES = [
    (lambda: lr_scheduler.StepLR(_opt(), step_size=0), ValueError, r"step_size must be a positive integer.*0"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=-2), ValueError, r"step_size.*-2"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=1.5), ValueError, r"step_size.*1\.5"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=True), ValueError, r"step_size.*True"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=2, gamma=-0.5), ValueError, r"gamma.*-0\.5"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=2, gamma=NAN), ValueError, r"gamma.*nan"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=2, gamma=INF), ValueError, r"gamma.*inf"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=[-1, 3]), ValueError, r"milestones.*-1"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=[1.5]), ValueError, r"milestones.*1\.5"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=3), TypeError, r"milestones.*int"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=[2], gamma=-1.0), ValueError, r"gamma.*-1"),
    (lambda: lr_scheduler.ExponentialLR(_opt(), gamma=-0.9), ValueError, r"gamma.*-0\.9"),
    (lambda: lr_scheduler.ExponentialLR(_opt(), gamma=NAN), ValueError, r"gamma.*nan"),
    (lambda: lr_scheduler.ExponentialLR(_opt(), gamma="0.9"), TypeError, r"gamma.*str"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=0), ValueError, r"T_max must be a positive integer.*0"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=-5), ValueError, r"T_max.*-5"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=2.5), ValueError, r"T_max.*2\.5"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=10, eta_min=-0.1), ValueError, r"eta_min.*-0\.1"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=10, eta_min=NAN), ValueError, r"eta_min.*nan"),
    (lambda: lr_scheduler.LinearLR(_opt(), start_factor=0.0), ValueError, r"start_factor.*\(0, 1\]"),
    (lambda: lr_scheduler.LinearLR(_opt(), start_factor=1.5), ValueError, r"start_factor"),
    (lambda: lr_scheduler.LinearLR(_opt(), end_factor=-0.5), ValueError, r"end_factor.*\[0, 1\]"),
    (lambda: lr_scheduler.LinearLR(_opt(), start_factor=NAN), ValueError, r"start_factor"),
    (lambda: lr_scheduler.LinearLR(_opt(), total_iters=2.0), ValueError, r"total_iters.*2\.0"),
    (lambda: lr_scheduler.LinearLR(_opt(), total_iters=-1), ValueError, r"total_iters.*-1"),
    (lambda: lr_scheduler.LambdaLR(_opt(), lr_lambda=[lambda t: 1.0, lambda t: 0.5]), ValueError,
     r"2 lr_lambdas for 1 param groups"),
    (lambda: lr_scheduler.LambdaLR(_opt(), lr_lambda=[]), ValueError, r"0 lr_lambdas for 1"),
    (lambda: lr_scheduler.LambdaLR(_opt(), lr_lambda=0.5), TypeError, r"lr_lambda.*callable.*float"),
    (lambda: lr_scheduler.LambdaLR(_opt(), lr_lambda=[0.5]), TypeError, r"lr_lambda.*callable.*float"),
    (lambda: lr_scheduler.WarmupCosine(_opt(), warmup_steps=10, total_steps=10), ValueError,
     r"warmup_steps < total_steps.*10, 10"),
    (lambda: lr_scheduler.WarmupCosine(_opt(), warmup_steps=-1, total_steps=10), ValueError, r"warmup_steps.*>= 0.*-1"),
    (lambda: lr_scheduler.WarmupCosine(_opt(), warmup_steps=1, total_steps=10, min_lr=-1.0), ValueError,
     r"min_lr.*-1"),
    (lambda: lr_scheduler.WarmupCosine(_opt(), warmup_steps=1.5, total_steps=10), ValueError, r"warmup_steps.*1\.5"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=1.0), ValueError, r"factor must be < 1.*1\.0"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=-0.1), ValueError, r"factor.*-0\.1"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=NAN), ValueError, r"factor.*nan"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), mode="mean"), ValueError, r"mode must be 'min' or 'max'"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), threshold_mode="pct"), ValueError, r"threshold_mode"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), patience=-1), ValueError, r"patience.*-1"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), cooldown=-1), ValueError, r"cooldown.*-1"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), threshold=-1e-4), ValueError, r"threshold.*-0\.0001"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), min_lr=[0.0, 0.0]), ValueError, r"2 min_lrs for 1 param groups"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), min_lr=-1.0), ValueError, r"min_lr.*-1"),
    (lambda: lr_scheduler.StepLR(object(), step_size=1), TypeError, r"StepLR: expected a tinyllm Optimizer"),
    (lambda: lr_scheduler.ExponentialLR(_opt(), gamma=0.9, last_epoch=3), KeyError, r"initial_lr"),
]


@pytest.mark.parametrize(("build", "error", "match"), SCHEDULER_CASES)
def test_scheduler_refuses_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_plateau_step_names_a_metric_that_is_not_a_number():
    sched = lr_scheduler.ReduceLROnPlateau(_opt())
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: metric.*str"):
        sched.step("low")


def test_plateau_counts_a_nan_metric_as_no_improvement_like_torch(torch):
    ours = lr_scheduler.ReduceLROnPlateau(_opt(), patience=1)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), patience=1)
    for metric in (1.0, NAN, NAN, 0.5, NAN, NAN, NAN):
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("StepLR", {"step_size": 1, "gamma": 0.0}), ("ExponentialLR", {"gamma": 0.0}),
     ("ExponentialLR", {"gamma": 1.5}), ("MultiStepLR", {"milestones": []}),
     ("MultiStepLR", {"milestones": (0, 3)}), ("MultiStepLR", {"milestones": [4, 1]}),
     ("MultiStepLR", {"milestones": [2, 2]}), ("LinearLR", {"total_iters": 0}), ("CosineAnnealingLR", {"T_max": 1}),
     ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 1})],
)
def test_edge_schedules_match_torch(torch, name, kwargs):
    ours = getattr(lr_scheduler, name)(_opt(), **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1),
                                                     **kwargs)
    for _ in range(5):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=0.0)
        ours.optimizer.step()
        theirs.optimizer.step()
        ours.step()
        theirs.step()
