"""``tinyllm bench`` in its quick mode: every workload runs and the table is complete (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from tinyllm import bench, cli


def test_bench_quick_runs_every_workload_and_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    results = bench.main(quick=True, memory=False)
    assert [r.workload for r in results] == ["lstm-clf", "gpt-char", "mlp-overhead", "gemm"]
    assert all(r.tinyllm_ms > 0 for r in results)
    gpt = results[1]
    assert gpt.tokens_per_s == pytest.approx(12 * 64 / (gpt.tinyllm_ms / 1e3))
    out = capsys.readouterr().out
    assert "tinyllm ms" in out and "gpt-char" in out


def test_bench_compares_with_torch_and_measures_peak_memory(torch, capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["bench", "gpt-char", "gemm", "--quick", "--json"])
    rows = json.loads(capsys.readouterr().out)
    gpt, gemm = rows
    assert gpt["torch_ms"] > 0 and gpt["ratio"] == pytest.approx(gpt["tinyllm_ms"] / gpt["torch_ms"], rel=1e-9)
    assert 0 < gpt["peak_fraction"] == pytest.approx(gpt["gflops"] / gemm["gflops"])
    assert gpt["tinyllm_peak_mb"] is not None and gpt["torch_peak_mb"] is not None


def test_gpt_flop_count_matches_a_count_by_layer() -> None:
    # per token: qkv 3C^2, proj C^2, mlp 8C^2 per layer, lm_head V C; x 6 (fwd + bwd, 2 flops per
    # multiply-add); attention: QK^T and PV, 2 T C multiply-adds per layer, x 6
    C, L, V, T, tokens = 128, 4, 65, 64, 12 * 64
    per_token = 6 * (L * 12 * C * C + V * C) + 6 * L * 2 * T * C
    assert bench.gpt_flops_per_step() == tokens * per_token


def test_unknown_workload_is_named() -> None:
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        bench.main(["nope"])


def test_every_tinyllm_step_waits_for_the_device_before_its_clock_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a GPU, CuPy queues its kernels and returns: a step that did not synchronize would time
    # only the queueing. Each tinyllm workload's step must call the sync, as the PyTorch ones do.
    from tinyllm import bench_gpt

    synced: list[str] = []
    monkeypatch.setattr(bench, "sync", synced.append)
    monkeypatch.setattr(bench_gpt, "sync", synced.append)
    for workload in bench.WORKLOADS.values():
        synced.clear()
        workload.tinyllm("cpu")()
        assert synced == ["cpu"], workload.name
