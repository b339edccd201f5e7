"""The ``tinyllm`` command: ``tinyllm demo`` and ``tinyllm bench``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinyllm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="train a tiny network with the autograd engine and check its gradients")
    bench = sub.add_parser("bench", help="time training steps against PyTorch")
    bench.add_argument("workloads", nargs="*", help="workloads to run (default: all)")
    bench.add_argument("--device", default="cpu", help="cpu (NumPy vs PyTorch CPU) or cuda (CuPy vs PyTorch CUDA)")
    bench.add_argument("--json", action="store_true", help="print machine-readable results")
    bench.add_argument("--quick", action="store_true", help="a step or two each: checks that it runs")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from tinyllm.demo import main as demo  # noqa: PLC0415

        demo()
    elif args.command == "bench":
        from tinyllm.bench import main as bench_main  # noqa: PLC0415

        bench_main(args.workloads, args.device, as_json=args.json, quick=args.quick, memory=not args.no_memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
