"""``tinyllm bench --sweep`` and ``--generate`` in their quick modes (no timing asserted), and the
PyTorch twin they time: tinyllm's GPT with its weights, its logits and its cached sampling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import bench_gpt, bench_sweep, cli, runtime
from tinyllm.bench import Result

SHAPE = {"vocab_size": 13, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 16}


def _twin_with_tinyllm_weights(torch, shape: dict[str, int]) -> tuple:
    ours = bench_gpt.tinyllm_gpt(shape).eval()
    twin = bench_gpt.torch_gpt(shape).eval()
    state = {name: torch.tensor(t.numpy()) for name, t in ours.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return ours, twin


def test_the_torch_twin_loads_tinyllm_weights_and_gives_its_logits(torch) -> None:
    ours, twin = _twin_with_tinyllm_weights(torch, SHAPE)
    idx = np.random.default_rng(0).integers(0, 13, (3, 8))
    with tl.no_grad():
        expected = ours(tl.tensor(idx))[0].numpy()
    with torch.no_grad():
        got = twin(torch.tensor(idx)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_the_torch_twin_caches_as_tinyllm_does(torch) -> None:
    # greedy, from a prompt of 3 to 14 tokens past the context of 8: the twin's cached and uncached paths
    # and tinyllm's agree token for token, so the twin runs the same scheme on the same model
    ours, twin = _twin_with_tinyllm_weights(torch, SHAPE)
    start = np.random.default_rng(1).integers(0, 13, (2, 3))
    expected = ours.generate(tl.tensor(start), 14, temperature=0).numpy()
    for use_cache in (True, False):
        got = twin.generate(torch.tensor(start), 14, temperature=0, use_cache=use_cache).numpy()
        np.testing.assert_array_equal(got, expected)


def test_the_torch_twin_gives_tinyllm_loss_and_gradients(torch) -> None:
    ours, twin = _twin_with_tinyllm_weights(torch, SHAPE)
    idx, targets = np.random.default_rng(2).integers(0, 13, (2, 2, 8))
    loss = ours(tl.tensor(idx), tl.tensor(targets))[1]
    loss.backward()
    t_loss = twin(torch.tensor(idx), torch.tensor(targets))
    t_loss.backward()
    assert t_loss.item() == pytest.approx(loss.item(), rel=1e-5)
    grads = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(grads[name].grad.numpy(), p.grad.numpy(), rtol=1e-3, atol=1e-6)


def test_bench_sweep_quick_times_each_point_once_and_draws_the_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = runtime.get_num_threads()
    assert cli.main(["bench", "--sweep", "--quick", "--json", "--out", str(tmp_path)]) == 0
    assert runtime.get_num_threads() == threads  # one thread while it ran, then back
    rows = json.loads(capsys.readouterr().out)
    assert [(r["context"], r["width"]) for r in rows] == [(8, 16), (16, 16), (8, 32)]  # the base point once
    for r in rows:
        assert r["tokens_per_s"] == pytest.approx(12 * r["context"] / (r["tinyllm_ms"] / 1e3))
    assert (tmp_path / "sweep.png").stat().st_size > 10_000


def test_the_sweep_table_states_the_worst_ratio(tmp_path: Path) -> None:
    def point(t: int, c: int, ours: float, theirs: float) -> bench_sweep.Point:
        r = Result("gpt", "cpu", ours, theirs, ours / theirs, 12 * t / ours * 1e3, 12 * t / theirs * 1e3)
        return bench_sweep.Point(t, c, r)

    points = [point(64, 128, 30, 25), point(128, 128, 70, 50), point(64, 256, 80, 70)]
    table = bench_sweep.sweep_table(points)
    assert "worst ratio tinyllm / PyTorch over the sweep: 1.40 (context 128, width 128)" in table
    assert "     128    128        70.0      50.0   1.40   21,943       30,720" in table
    path = bench_sweep.plot_sweep(points, tmp_path, "a title")
    assert path == tmp_path / "sweep.png" and path.stat().st_size > 10_000
    assert bench_sweep.worst([bench_sweep.Point(8, 8, Result("gpt", "cpu", 1.0))]) is None  # no PyTorch


def test_a_full_sweep_draws_beside_the_lessons_figures_and_a_quick_one_elsewhere() -> None:
    from tinyllm.lessons import figures_dir

    assert bench_sweep.default_folder("cpu", quick=False) == figures_dir() / "bench" / "cpu"
    assert figures_dir() not in bench_sweep.default_folder("cpu", quick=True).parents


def test_bench_generate_quick_samples_the_same_tokens_with_and_without_the_cache(
    torch, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = (runtime.get_num_threads(), torch.get_num_threads())
    assert cli.main(["bench", "--generate", "--quick", "--new-tokens", "40", "--json"]) == 0
    assert (runtime.get_num_threads(), torch.get_num_threads()) == threads  # one thread while it ran, then back
    rows = {r["framework"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"tinyllm", "torch"}
    for r in rows.values():
        assert r["new_tokens"] == 40 and r["same_tokens"] is True
        assert r["speedup"] == pytest.approx(r["tokens_per_s"] / r["uncached_tokens_per_s"])


def test_bench_sweep_and_generate_take_no_workloads_and_at_least_one_new_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["bench", "gpt-char", "--sweep"], ["bench", "--sweep", "--generate"],
                 ["bench", "--generate", "--new-tokens", "0"]):  # fmt: skip
        with pytest.raises(SystemExit) as stop:
            cli.main(argv)
        assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--sweep and --generate take no workloads" in err and "--new-tokens must be at least 1, not 0" in err


def test_sweep_log_axes_get_at_least_three_round_labels_even_within_one_decade() -> None:
    from tinyllm.bench_sweep import _log_ticks

    assert _log_ticks(60, 1200) == [100, 200, 500, 1000]
    assert _log_ticks(0.3, 4) == [0.5, 1, 2]
    assert _log_ticks(1100, 11000) == [2000, 5000, 10000]
    assert _log_ticks(4200, 9500) == [5000, 6000, 7000, 8000, 9000]  # 1, 2, 5 would label 5,000 alone
