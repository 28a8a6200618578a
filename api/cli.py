"""The ``lienxa`` command line: one entry point, one sub-command per job.

Sub-commands live in small modules that each expose ``register(subparsers)``;
each registered parser sets ``func`` to the callable that runs it and returns
an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import os
import sys
from typing import NoReturn

from geo.errors import LienXaError

#: Modules that contribute sub-commands, in the order they appear in ``--help``.
COMMAND_MODULES = (
    "api.commands.geo_commands",  # graph, communes
    "api.commands.plan_commands",  # plan, sample-inventory
    "api.commands.service_commands",  # serve, db, inventory, rules
    "api.commands.admin_commands",  # users, audit, backup, restore
    "api.commands.regulation_commands",  # regulations import|export
    "api.commands.sms_commands",  # sms
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="lienxa",
        description="Liên Xã: mutual aid between neighbouring communes in floods.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a part not installed yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


#: NumPy asks the kernel for transparent huge pages for every large array. Where the kernel
#: then compacts memory to find them (``defrag`` ``madvise``, Debian's default), a fresh process
#: that fills ~1 GB of temporaries spends longer in those page faults than NumPy in its work
#: (``lienxa graph`` nationwide spent 1.4-1.8 s of system time before, 0.5 s after: see
#: bench/results/graph_commands-before.json). Set before NumPy is imported; a value in the
#: environment wins.
HUGEPAGE_SETTING = ("NUMPY_MADVISE_HUGEPAGE", "0")

#: NumPy's OpenBLAS starts a thread per core when it is loaded, and each one spins for a while
#: before it sleeps, on a core the process could have used: 0.05 s of CPU in a process that
#: only imports NumPy, 0.12 s (6 %) of a nationwide ``lienxa graph --no-cache``
#: (bench/results/blas_threads.json), and again in every server worker. Nothing here
#: multiplies matrices large enough for more threads to pay (the planner's solver is
#: OR-Tools'), so one. Set before NumPy is imported; a value in the environment wins.
BLAS_SETTING = ("OPENBLAS_NUM_THREADS", "1")

#: What every ``lienxa`` process sets in its environment before anything imports NumPy.
PROCESS_SETTINGS = (HUGEPAGE_SETTING, BLAS_SETTING)


def apply_process_settings() -> None:
    """Set :data:`PROCESS_SETTINGS` in this process's environment where it has no value yet
    (to take effect, before NumPy is imported)."""
    for name, value in PROCESS_SETTINGS:
        os.environ.setdefault(name, value)


#: glibc ``mallopt`` settings for a one-shot process (parameter numbers from ``malloc.h``):
#: no ``mmap`` for large blocks (``M_MMAP_MAX`` 0: each array of more than 32 MB would
#: otherwise get fresh pages from the kernel and give them back when freed), never trim the
#: heap (``M_TRIM_THRESHOLD``), one arena for every thread (``M_ARENA_MAX``), so that memory
#: one stage frees (the WKB read from the file) is the memory the next stage's arrays use
#: instead of pages the kernel must fault in again. The stages of a nationwide build take
#: 124,000 page faults instead of 139,000 with glibc's defaults, the exact shared-edge pass
#: 35,000 instead of 46,000 (bench/results/graph_stages.json against
#: graph_stages-malloc-default.json). Not for a long-lived process: freed memory never goes
#: back to the system.
ONE_SHOT_MALLOC = (
    ("M_TRIM_THRESHOLD", -1, (1 << 31) - 1),  # the largest C int: 2 GB
    ("M_MMAP_MAX", -4, 0),
    ("M_ARENA_MAX", -8, 1),
)


def tune_malloc(libc: object | None = None) -> list[str]:
    """Apply :data:`ONE_SHOT_MALLOC` through glibc's ``mallopt`` (``libc``: the C library;
    when None, the symbols the process is linked with, which include the C library's) and
    return the names of the settings it took; none where the C library has no ``mallopt``
    (not glibc)."""
    import ctypes  # here: only a one-shot command needs it

    if libc is None:
        try:
            libc = ctypes.CDLL(None)  # not ctypes.util.find_library: it imports subprocess
        except OSError:
            return []
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return []
    return [
        name
        for name, param, value in ONE_SHOT_MALLOC
        if mallopt(ctypes.c_int(param), ctypes.c_int(value)) == 1
    ]


def main(argv: list[str] | None = None) -> int:
    """Run ``lienxa`` with ``argv`` and return the exit code."""
    return _run(argv)[0]


def _run(argv: list[str] | None, *, own_process: bool = False) -> tuple[int, bool]:
    """The exit code, and whether the command was one-shot (``one_shot`` in its defaults: a
    command that computes, writes its output and ends, such as ``graph``). A one-shot command
    runs without the cyclic garbage collector: it makes few cycles and lives seconds, and the
    collector's passes over its hundreds of thousands of objects cost ~0.08 s of a nationwide
    ``lienxa graph``; it is switched back on after. In a process of its own (``own_process``:
    the executable, which ends after it) it also allocates as :func:`tune_malloc` sets, and the
    collector stays off: switched on, its first pass over everything the command made (~0.04 s
    nationwide) would be the last thing the process did."""
    apply_process_settings()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    one_shot = bool(getattr(args, "one_shot", False))
    if one_shot and own_process:
        tune_malloc()
    collecting = gc.isenabled()
    if one_shot:
        gc.disable()
    try:
        return int(args.func(args) or 0), one_shot
    except LienXaError as exc:
        print(f"lienxa {args.command}: error: {exc}", file=sys.stderr)
        return 2, one_shot
    except FileNotFoundError as exc:
        print(f"lienxa {args.command}: error: {exc}", file=sys.stderr)
        return 2, one_shot
    finally:
        if one_shot and collecting and not own_process:
            gc.enable()


def entry() -> NoReturn:
    """The ``lienxa`` executable. After a one-shot command, whose files are written and closed,
    the process ends once its standard streams are flushed, without tearing down every object
    it made one by one (~0.1 s of CPU after a nationwide ``lienxa graph``); its memory is
    allocated as :func:`tune_malloc` sets."""
    code, one_shot = _run(None, own_process=True)
    if one_shot:
        for stream in (sys.stdout, sys.stderr):
            # a reader gone, or a closed stream: nothing left to keep
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
