"""The ``tinyllm`` command: ``demo``, ``bench``, ``lessons``, ``notebooks``, ``api-coverage`` and ``assignment``.

Exit status, as Unix commands have it: 0 when the command did its work, 2 for a command
line that asks for something impossible (argparse's usage errors, an unknown workload or
lesson), 1 when the command ran and failed (no GPU for ``--device cuda``, a lesson whose
assertions fail, a folder that is not empty). A failure prints one line,
``tinyllm <command>: error: <message>``, on stderr; ``TINYLLM_DEBUG=1`` shows the traceback
instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from tinyllm import __version__

#: The top-level help in plain text (argparse prints descriptions as they are, markup and all).
DESCRIPTION = (
    "tinyllm: a from-scratch deep-learning library that teaches how language models are trained. "
    "Each command below takes -h for its own options."
)


def device_option(spec: str) -> str:
    """``--device``: "cpu", "cuda" or "cuda:N" (whether the GPU exists is checked later, by the command)."""
    kind, colon, index = spec.partition(":")
    if spec == "cpu" or (kind == "cuda" and (not colon or index.isdigit())):
        return spec
    raise argparse.ArgumentTypeError(f"invalid device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def _command(sub: argparse._SubParsersAction, name: str, about: str) -> argparse.ArgumentParser:
    """A subcommand whose ``-h`` repeats its one-line help, and which knows its parser (for its errors)."""
    parser = sub.add_parser(name, help=about, description=about)
    parser.set_defaults(parser=parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``tinyllm`` command line and its subcommands."""
    parser = argparse.ArgumentParser(prog="tinyllm", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tinyllm {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", required=True, metavar="command")
    _command(sub, "demo", "train a tiny network with the autograd engine and check its gradients")
    bench = _command(sub, "bench", "time training steps against PyTorch")
    bench.add_argument("workloads", nargs="*", help="workloads to run (default: all)")
    bench.add_argument("--device", type=device_option, default="cpu",
                       help="cpu (NumPy vs PyTorch CPU) or cuda (CuPy vs PyTorch CUDA)")  # fmt: skip
    bench.add_argument("--json", action="store_true", help="print machine-readable results")
    bench.add_argument("--quick", action="store_true", help="a step or two each: checks that it runs")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    other = bench.add_mutually_exclusive_group()
    other.add_argument("--sweep", action="store_true",
                       help="instead: W2's step as context (64-512) and width (128-512) grow; a figure")  # fmt: skip
    other.add_argument("--generate", action="store_true",
                       help="instead: sampling tokens/s with and without the key/value cache")  # fmt: skip
    bench.add_argument("--new-tokens", type=int, default=500, metavar="N",
                       help="--generate: tokens to sample (default: 500)")  # fmt: skip
    bench.add_argument("--out", default=None, help="--sweep: the figure's folder (default: figures/bench/DEVICE)")
    lessons = _command(sub, "lessons", "list or run the lessons (each asserts what it teaches)")
    lessons.add_argument("names", nargs="*", help="lessons to run, by number or name (default: all)")
    lessons.add_argument("--quick", action="store_true", help="small sizes: seconds per lesson")
    lessons.add_argument("--list", action="store_true", help="only list the lessons")
    lessons.add_argument("--out", default=None, help="write figures here instead of figures/")
    lessons.add_argument("--device", type=device_option, default="cpu", help="cpu or cuda")
    lessons.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                         help="a progress bar over the lessons (default: when stderr is a terminal)")  # fmt: skip
    notebooks = _command(sub, "notebooks", "write each lesson as a Jupyter notebook (NN_name.ipynb)")
    notebooks.add_argument("folder", nargs="?", default="notebooks", help="where (default: ./notebooks)")
    notebooks.add_argument("--lessons", nargs="+", default=None, metavar="NAME",
                           help="only these lessons, by number or name (default: all)")  # fmt: skip
    notebooks.add_argument("--force", action="store_true",
                           help="replace notebooks that exist (kept by default: they may hold your work)")  # fmt: skip
    api = _command(sub, "api-coverage", "count which everyday PyTorch names tinyllm has")
    api.add_argument("--missing", action="store_true", help="list the names tinyllm lacks")
    try:
        from tinyllm import assignment  # stays with the instructor: not in student copies
    except ImportError:
        assignment = None  # type: ignore[assignment]
    if assignment is not None:
        assignment.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit status (usage errors raise ``SystemExit(2)``, as argparse does)."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{args.parser.prog}: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report it
    except BrokenPipeError:  # the reader left (`tinyllm lessons --list | head -1`): nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # or Python's final flush fails again
        return 1
    except Exception as error:  # any failure: one line for the user, the traceback on request
        if os.environ.get("TINYLLM_DEBUG"):
            raise
        print(f"{args.parser.prog}: error: {error or type(error).__name__}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from tinyllm.demo import main as demo

        demo()
    elif args.command == "bench":
        from tinyllm import bench

        if (args.sweep or args.generate) and args.workloads:
            args.parser.error("--sweep and --generate take no workloads")
        if args.new_tokens < 1:
            args.parser.error(f"--new-tokens must be at least 1, not {args.new_tokens}")
        if args.sweep:
            from tinyllm import bench_sweep

            bench_sweep.main(args.device, quick=args.quick, as_json=args.json, out=args.out)
            return 0
        if args.generate:
            from tinyllm import bench_gpt

            bench_gpt.main(args.new_tokens, args.device, quick=args.quick, as_json=args.json)
            return 0
        if unknown := [w for w in args.workloads if w not in bench.WORKLOADS]:
            args.parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(bench.WORKLOADS)}")
        bench.main(args.workloads, args.device, as_json=args.json, quick=args.quick, memory=not args.no_memory)
    elif args.command == "lessons":
        return _lessons(args)
    elif args.command == "notebooks":
        return _notebooks(args)
    elif args.command == "api-coverage":
        from tinyllm.coverage import report

        print(report(args.missing))
    elif args.command == "assignment":
        from tinyllm import assignment

        return assignment.main(args)
    return 0


def _lessons(args: argparse.Namespace) -> int:
    from tinyllm import lessons

    if args.list:
        for path in lessons.available():
            print(path.stem)
        return 0
    try:
        for name in args.names:
            lessons.find(name)  # a name that matches no lesson is a usage error, found before any lesson runs
    except LookupError as error:
        args.parser.error(str(error))
    failed = lessons.run(args.names, args.quick, args.out, args.device, progress=args.progress)
    if failed:
        raise RuntimeError(f"{failed} of {len(args.names) or len(lessons.available())} lessons failed")
    return 0


def _notebooks(args: argparse.Namespace) -> int:
    from tinyllm import lessons

    try:
        for name in args.lessons or []:
            lessons.find(name)
    except LookupError as error:
        args.parser.error(str(error))
    for path, what in lessons.write_notebooks(args.folder, args.lessons, force=args.force):
        note = " (it exists: --force replaces it)" if what == "kept" else ""
        print(f"{what:<8} {path}{note}")
    print(f"open them with `jupyter lab {args.folder}`; a lesson runs quick there unless "
          f'{lessons.ENV_ARGS}="--full" (see lessons/README.md)')  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
