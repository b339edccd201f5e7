"""The ``tinyllm`` command: ``tinyllm demo``, ``bench``, ``lessons``, ``api-coverage`` and ``assignment``."""

from __future__ import annotations

import argparse
import sys

from tinyllm import __version__


def _device(spec: str) -> str:
    """``--device``: "cpu", "cuda" or "cuda:N" (whether the GPU exists is checked later, by the command)."""
    kind, colon, index = spec.partition(":")
    if spec == "cpu" or (kind == "cuda" and (not colon or index.isdigit())):
        return spec
    raise argparse.ArgumentTypeError(f"invalid device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinyllm", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tinyllm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="train a tiny network with the autograd engine and check its gradients")
    bench = sub.add_parser("bench", help="time training steps against PyTorch")
    bench.add_argument("workloads", nargs="*", help="workloads to run (default: all)")
    bench.add_argument("--device", type=_device, default="cpu",
                       help="cpu (NumPy vs PyTorch CPU) or cuda (CuPy vs PyTorch CUDA)")  # fmt: skip
    bench.add_argument("--json", action="store_true", help="print machine-readable results")
    bench.add_argument("--quick", action="store_true", help="a step or two each: checks that it runs")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    lessons = sub.add_parser("lessons", help="list or run the lessons (each asserts what it teaches)")
    lessons.add_argument("names", nargs="*", help="lessons to run, by number or name (default: all)")
    lessons.add_argument("--quick", action="store_true", help="small sizes: seconds per lesson")
    lessons.add_argument("--list", action="store_true", help="only list the lessons")
    lessons.add_argument("--out", default=None, help="write figures here instead of figures/")
    lessons.add_argument("--device", type=_device, default="cpu", help="cpu or cuda")
    api = sub.add_parser("api-coverage", help="count which everyday PyTorch names tinyllm has")
    api.add_argument("--missing", action="store_true", help="list the names tinyllm lacks")
    try:
        from tinyllm import assignment  # stays with the instructor: not in student copies
    except ImportError:
        assignment = None  # type: ignore[assignment]
    if assignment is not None:
        assignment.add_parser(sub)
    args = parser.parse_args(argv)

    if args.command == "demo":
        from tinyllm.demo import main as demo

        demo()
    elif args.command == "bench":
        from tinyllm.bench import main as bench_main

        bench_main(args.workloads, args.device, as_json=args.json, quick=args.quick, memory=not args.no_memory)
    elif args.command == "lessons":
        from tinyllm import lessons as lesson_runner

        if args.list:
            for path in lesson_runner.available():
                print(path.stem)
            return 0
        return 1 if lesson_runner.run(args.names, args.quick, args.out, args.device) else 0
    elif args.command == "api-coverage":
        from tinyllm.coverage import report

        print(report(args.missing))
    elif args.command == "assignment":
        return assignment.main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
