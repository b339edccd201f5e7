"""``tinyllm api-coverage`` reads its list of PyTorch names and looks each one up in tinyllm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyllm import coverage


def test_the_list_is_read_by_section_with_comments_and_scope(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("# a comment\n[torch]\nzeros ones  # trailing\nnot_a_tinyllm_name\n\n"
                    "[nn] (out of scope)\nConv2d\n[utils.nothing_here]\nDataset\n")  # fmt: skip
    sections = coverage.read_sections(path)
    assert [(s.namespace, s.names, s.in_scope) for s in sections] == [
        ("torch", ("zeros", "ones", "not_a_tinyllm_name"), True),
        ("nn", ("Conv2d",), False),
        ("utils.nothing_here", ("Dataset",), True),
    ]
    missing = {s.namespace: m for s, m in coverage.coverage(sections)}
    assert missing["torch"] == ["not_a_tinyllm_name"]
    assert missing["utils.nothing_here"] == ["Dataset"]  # a namespace tinyllm lacks: every name missing


def test_names_before_a_header_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("zeros\n[torch]\nones\n")
    with pytest.raises(ValueError, match=r"names\.txt.*before the first \[namespace\]"):
        coverage.read_sections(path)


def test_the_committed_list_has_no_duplicates_within_a_namespace() -> None:
    for section in coverage.read_sections():
        assert len(set(section.names)) == len(section.names), section.namespace


def test_instance_attributes_count_and_the_report_totals_the_in_scope_sections() -> None:
    sections = [coverage.Section("optim.Optimizer", ("param_groups", "no_such_method"), True)]
    assert coverage.coverage(sections)[0][1] == ["no_such_method"]
    text = coverage.report(show_missing=True)
    assert "in scope:" in text.splitlines()[-1]
    assert "(out of scope)" in text


def test_tinyllm_has_every_in_scope_name_of_the_committed_list() -> None:
    """README states the count; this keeps it true (a name removed or renamed fails here)."""
    missing = {s.namespace: m for s, m in coverage.coverage(coverage.read_sections()) if s.in_scope and m}
    assert missing == {}
    assert "407 of 407" in coverage.report()
