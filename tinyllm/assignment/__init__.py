"""Classroom assignments made from tinyllm itself: ``tinyllm assignment make|grade|list``.

Students write the backward passes and optimizer steps that the reference source marks as
solution regions; gradient checks grade them. See ``docs/assignments.md``.

- :mod:`~tinyllm.assignment.tasks`: the task table (ids, titles, points, checks, hints);
- :mod:`~tinyllm.assignment.regions`: finding the regions and turning them into stubs;
- :mod:`~tinyllm.assignment.make`: the student copy;
- :mod:`~tinyllm.assignment.hints`: what a copy says at each hint level, and the written questions;
- :mod:`~tinyllm.assignment.answers`: reading a submission's written answers;
- :mod:`~tinyllm.assignment.grade` and :mod:`~tinyllm.assignment.runner`: the grader;
- :mod:`~tinyllm.assignment.gradebook`: a whole class, into a gradebook;
- :mod:`~tinyllm.assignment.checks`: the graded checks (the hidden tests).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinyllm.assignment.grade import GradeError, Report, grade, read_assignment, write_json
from tinyllm.assignment.gradebook import grade_all, make_executor, reports_folder
from tinyllm.assignment.hints import LEVELS
from tinyllm.assignment.make import MakeError, make
from tinyllm.assignment.regions import RegionError
from tinyllm.assignment.tasks import TASKS, Task, table

__all__ = ["TASKS", "Report", "Task", "grade", "grade_all", "main", "make"]


def _ids(values: list[str] | None) -> list[str] | None:
    """``--tasks a b`` and ``--tasks a,b`` alike."""
    return None if values is None else [i for v in values for i in v.split(",") if i]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``tinyllm assignment ...`` on the ``tinyllm`` command's subparsers."""
    parser = sub.add_parser("assignment", help="make a student copy of tinyllm, or grade one")
    actions = parser.add_subparsers(dest="action", required=True)
    mk = actions.add_parser("make", help="write a student copy: the tasks' code replaced by stubs")
    mk.add_argument("out", help="the folder to write (must be empty, unless --force)")
    mk.add_argument("--tasks", nargs="+", help="task ids to assign (default: all; see `tinyllm assignment list`)")
    mk.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    mk.add_argument("--hints", choices=LEVELS, default="full",
                    help="how much the stubs give away: full (the formulas), outline (what to derive, and the "
                    "lesson that derives a similar result) or none (the contract only); default: full")  # fmt: skip
    gr = actions.add_parser("grade", help="grade a copy: each task in its own process, with a timeout")
    gr.add_argument("path", nargs="?", default=".", help="the folder holding the tinyllm package (default: .)")
    gr.add_argument("--json", dest="json_file", help="also write the full report to this JSON file")
    which = gr.add_mutually_exclusive_group()
    which.add_argument("--tasks", nargs="+", help="task ids to grade (default: all)")
    which.add_argument(
        "--assignment",
        metavar="FILE",
        help="grade the tasks this assignment.json lists: your own copy of it, never the student's",
    )
    gr.add_argument("--timeout", type=float, default=60.0, help="seconds per task (default: 60)")
    gr.add_argument("--jobs", type=int, default=1, help="tasks graded at the same time (default: 1)")
    ga = actions.add_parser("grade-all", help="grade every submission in a folder into a gradebook CSV")
    ga.add_argument("submissions", help="the folder of submissions: one folder, .zip or .tar.gz per student")
    ga.add_argument("--out", required=True, help="the gradebook CSV to write (reports go in OUT's stem + .reports/)")
    ga.add_argument("--tasks", nargs="+", help="task ids to grade (default: all)")
    ga.add_argument("--timeout", type=float, default=60.0, help="seconds per task (default: 60)")
    ga.add_argument("--jobs", type=int, help="submissions graded at the same time (default: one per core)")
    ga.add_argument(
        "--executor",
        default="processes",
        help="processes (default), threads, serial, or dask://HOST:PORT (a Dask scheduler)",
    )
    ga.add_argument("--regrade", action="store_true", help="grade again the submissions an earlier run graded")
    ga.add_argument(
        "--progress", action="store_true", default=None, help="show the progress bar even when stderr is not a terminal"
    )
    ls = actions.add_parser("list", help="print the task table")
    for action in (mk, gr, ga, ls):
        action.set_defaults(parser=action)  # the CLI names the action in its errors: "tinyllm assignment make"


def main(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            print(table())
        elif args.action == "make":
            tasks = make(args.out, _ids(args.tasks), force=args.force, hints=args.hints)
            print(f"wrote a student copy with {len(tasks)} tasks ({sum(t.points for t in tasks)} points, "
                  f"hints: {args.hints}) to {args.out}")  # fmt: skip
        elif args.action == "grade-all":
            _grade_all(args)
        else:
            if args.json_file and not Path(args.json_file).resolve().parent.is_dir():  # before grading, not after
                raise ValueError(f"--json: no folder {Path(args.json_file).parent} to write {args.json_file} in")
            ids = read_assignment(args.assignment) if args.assignment else _ids(args.tasks)
            report = grade(args.path, ids, timeout=args.timeout, jobs=args.jobs)
            print(report.table())
            if args.json_file:
                write_json(report, args.json_file)
    except (GradeError, MakeError, RegionError):
        raise  # the command ran and failed: the CLI prints the one-line error and exits 1
    except ValueError as e:  # a task id, timeout or job count the command line got wrong: a usage error
        args.parser.error(str(e))
    return 0


def _grade_all(args: argparse.Namespace) -> None:
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be a whole number >= 1, not {args.jobs}")
    if args.executor.startswith("dask://") and args.jobs is not None:
        raise ValueError("--jobs sizes a pool of processes or threads; a Dask cluster has its own workers")
    if not (0 < args.timeout < float("inf")):  # before the executor starts, not after
        raise ValueError(f"--timeout must be a number of seconds > 0, not {args.timeout}")
    executor, close = make_executor(args.executor, args.jobs)
    try:
        rows = grade_all(args.submissions, args.out, _ids(args.tasks), timeout=args.timeout, executor=executor,
                         regrade=args.regrade, progress=args.progress)  # fmt: skip
    finally:
        close()
    skipped, errors = sum(r.skipped for r in rows), sum(bool(r.error) for r in rows)
    print(f"{len(rows)} submissions ({len(rows) - skipped} graded, {skipped} unchanged since their report, "
          f"{errors} with errors): wrote {args.out} and {reports_folder(args.out)}/")  # fmt: skip
