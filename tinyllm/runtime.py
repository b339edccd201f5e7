"""How this process runs: host memory reuse, the number of BLAS threads, and whether it is a notebook kernel.

The two settings are process-wide and reach every library in the process (PyTorch
too), so the script chooses them: the lessons and ``tinyllm bench`` do; tensors,
layers and training never do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import threadpoolctl


def keep_freed_memory(max_bytes: int = 1 << 30) -> bool:
    """Ask the C allocator (glibc) to keep freed memory for reuse instead of handing it back.

    A training step allocates and frees the same activation-sized arrays every
    step. By default glibc gives large freed blocks back to the operating system,
    and the next step pays a page fault for every 4 KiB it touches again — for a
    small GPT on a laptop CPU, a fifth of the step. After this call blocks up to
    32 MiB come from the heap and up to ``max_bytes`` of free heap stays mapped,
    so the resident memory stays at its peak instead. The setting is
    process-wide (PyTorch in the same process gains too) and not undone.
    Returns False where it does not apply (not Linux with glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = mallopt(m_mmap_threshold, 32 << 20) == 1
    return bool(mallopt(m_trim_threshold, int(max_bytes)) == 1 and ok)


def set_num_threads(n: int) -> None:
    """Let NumPy's BLAS use ``n`` threads for matrix products, process-wide (as ``torch.set_num_threads``).

    Threads pay off for large matrix products (a 1024 x 1024 matmul), but a small
    model's products are too small to split: the threads then mostly wait for each
    other, and on a machine with other work running they spin for a core they do
    not get. The lessons' small models train up to three times faster on one
    thread (``lessons.options`` sets it; ``--threads`` changes it).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, not {n!r}")
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses now (the largest, if several BLAS libraries are loaded)."""
    pools = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    return max(pools, default=1)


def in_notebook() -> bool:
    """True when this code runs in a Jupyter kernel (IPython's shell there has a ``kernel``).

    A kernel has no command line of its own (``sys.argv`` holds its launcher's ``-f kernel.json``),
    and shows figures inline: the lessons read their options and show their figures accordingly.
    Terminal IPython is no kernel: ``%run lesson.py --quick`` passes a command line as a shell does.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return getattr(shell, "kernel", None) is not None
