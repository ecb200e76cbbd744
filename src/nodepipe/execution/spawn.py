"""Starting a node's process in one call to the C library's ``posix_spawn``, holding the GIL.

``subprocess.Popen`` gives up the GIL several times while it starts a child, and behind any
busy thread of the orchestrator each take-back can wait a whole switch interval: a launch that
takes 0.3 ms alone took 3 to 10 ms in a busy run. ``posix_spawn``, called through ``ctypes``
with the GIL held (``PyDLL``), starts the process in one step: a session of its own, its
working directory, stdin from ``/dev/null``, stdout and stderr into the log, signal handling
and mask back to the defaults (glibc leaves its two internal signals ignored, as it does for
``os.posix_spawn``; a program reinstalls them when it starts), and no other file descriptor
(as with ``close_fds``).

It needs ``posix_spawn_file_actions_addchdir_np`` (glibc 2.29, musl 1.1.24). Where that is
missing, ``spawn_available()`` is False and the caller starts the process with ``subprocess``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_SETSIGDEF = 0x04
_SETSIGMASK = 0x08
_SETSID = 0x80
_OPAQUE_BYTES = 1024
"""Room for posix_spawnattr_t (336 bytes in glibc) and posix_spawn_file_actions_t (80)."""
_SIGSET_BYTES = 128
_GLIBC = "libc.so.6"


@functools.cache
def _libc() -> Any:
    """The C library with the functions used here typed, or None when one is missing."""
    try:
        libc = _open_libc()
        functions: dict[str, tuple[Any, ...] | None] = {
            "posix_spawn": None,  # arguments of several kinds: converted by ctypes
            "posix_spawn_file_actions_init": (ctypes.c_void_p,),
            "posix_spawn_file_actions_destroy": (ctypes.c_void_p,),
            "posix_spawn_file_actions_addopen": (
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_uint,
            ),
            "posix_spawn_file_actions_adddup2": (ctypes.c_void_p, ctypes.c_int, ctypes.c_int),
            "posix_spawn_file_actions_addclose": (ctypes.c_void_p, ctypes.c_int),
            "posix_spawn_file_actions_addchdir_np": (ctypes.c_void_p, ctypes.c_char_p),
            "posix_spawnattr_init": (ctypes.c_void_p,),
            "posix_spawnattr_setflags": (ctypes.c_void_p, ctypes.c_short),
            "posix_spawnattr_setsigmask": (ctypes.c_void_p, ctypes.c_void_p),
            "posix_spawnattr_setsigdefault": (ctypes.c_void_p, ctypes.c_void_p),
            "sigemptyset": (ctypes.c_void_p,),
            "sigfillset": (ctypes.c_void_p,),
        }
        for name, argtypes in functions.items():
            function = getattr(libc, name)
            if argtypes is not None:
                function.argtypes = argtypes
            function.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    closefrom = getattr(libc, "posix_spawn_file_actions_addclosefrom_np", None)  # glibc 2.34
    if closefrom is not None:
        closefrom.argtypes = (ctypes.c_void_p, ctypes.c_int)
        closefrom.restype = ctypes.c_int
    return libc


def _open_libc() -> Any:
    """glibc by its soname (what ``find_library("c")`` finds there); else the C library
    ``find_library`` finds (musl). Searching costs a run ~5 ms of CPU: an ``ldconfig -p``
    process, and ``ctypes.util`` importing ``tempfile``."""
    try:
        return ctypes.PyDLL(_GLIBC)
    except OSError:
        from ctypes.util import find_library

        return ctypes.PyDLL(find_library("c") or _GLIBC)


def spawn_available() -> bool:
    return _libc() is not None


def spawn(
    argv: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    output_fd: int,
    input_fd: int | None = None,
    error_fd: int | None = None,
) -> int:
    """Start ``argv`` in ``cwd`` with ``env``, output to ``output_fd``; returns its pid.

    Standard input is ``input_fd`` (default ``/dev/null``), errors go to ``error_fd``
    (default ``output_fd``). ``argv[0]`` is looked up on the ``PATH`` of ``env`` unless it
    holds a ``/``. Raises OSError when the program cannot be found or started.
    """
    libc = _libc()
    program = _find(argv[0], env.get("PATH", ""))
    actions = ctypes.create_string_buffer(_OPAQUE_BYTES)
    _check(libc.posix_spawn_file_actions_init(actions), argv[0])
    try:
        _describe_files(libc, actions, cwd, (input_fd, output_fd, error_fd))
        return _call_spawn(libc, program, argv, env, actions, _attributes())
    finally:
        libc.posix_spawn_file_actions_destroy(actions)


def _describe_files(
    libc: Any, actions: Any, cwd: str, streams: tuple[int | None, int, int | None]
) -> None:
    """Working directory and file descriptors of the child, set up before it runs anything."""
    _check(libc.posix_spawn_file_actions_addchdir_np(actions, os.fsencode(cwd)), cwd)
    source, output, errors = streams
    if source is None:
        devnull = os.fsencode(os.devnull)
        _check(libc.posix_spawn_file_actions_addopen(actions, 0, devnull, os.O_RDONLY, 0), cwd)
    else:
        _check(libc.posix_spawn_file_actions_adddup2(actions, source, 0), cwd)
    for fd, target in ((output, 1), (output if errors is None else errors, 2)):
        _check(libc.posix_spawn_file_actions_adddup2(actions, fd, target), cwd)
    _close_the_rest(libc, actions, cwd)


@functools.cache
def _attributes() -> Any:
    """The child's session and signals (a session of its own, no signal blocked, every
    signal's handling back to the default): the same for every node, so set up once per
    process (``posix_spawn`` only reads them) and never destroyed."""
    libc = _libc()
    attributes = ctypes.create_string_buffer(_OPAQUE_BYTES)
    _check(libc.posix_spawnattr_init(attributes), "posix_spawnattr_init")
    no_signals = ctypes.create_string_buffer(_SIGSET_BYTES)
    every_signal = ctypes.create_string_buffer(_SIGSET_BYTES)
    libc.sigemptyset(no_signals)
    libc.sigfillset(every_signal)
    _check(libc.posix_spawnattr_setsigmask(attributes, no_signals), "posix_spawnattr")
    _check(libc.posix_spawnattr_setsigdefault(attributes, every_signal), "posix_spawnattr")
    flags = _SETSID | _SETSIGMASK | _SETSIGDEF
    _check(libc.posix_spawnattr_setflags(attributes, flags), "posix_spawnattr")
    return attributes


def _close_the_rest(libc: Any, actions: Any, cwd: str) -> None:
    """File descriptors from 3 up are closed in the child, inherited ones included."""
    closefrom = getattr(libc, "posix_spawn_file_actions_addclosefrom_np", None)
    if closefrom is not None:
        _check(closefrom(actions, 3), cwd)
        return
    for fd in sorted(int(entry.name) for entry in Path("/proc/self/fd").iterdir()):
        if fd > 2 and _inheritable(fd):
            _check(libc.posix_spawn_file_actions_addclose(actions, fd), cwd)


def _inheritable(fd: int) -> bool:
    try:
        return os.get_inheritable(fd)
    except OSError:  # closed meanwhile, or the listing's own descriptor
        return False


def _call_spawn(
    libc: Any,
    program: bytes,
    argv: Sequence[str],
    env: Mapping[str, str],
    actions: Any,
    attributes: Any,
) -> int:
    arguments = _strings([os.fsencode(a) for a in argv])
    variables = _strings([_variable(k, v) for k, v in env.items()])
    pid = ctypes.c_int()
    error = libc.posix_spawn(ctypes.byref(pid), program, actions, attributes, arguments, variables)
    _check(error, argv[0])
    return pid.value


@functools.lru_cache(maxsize=4096)
def _variable(name: str, value: str) -> bytes:
    """``name=value`` encoded; most variables are the same for every node a run starts."""
    return os.fsencode(f"{name}={value}")


def _strings(items: list[bytes]) -> Any:
    """A NULL-terminated ``char *[]``."""
    return (ctypes.c_char_p * (len(items) + 1))(*items, None)


def _find(program: str, path: str) -> bytes:
    if "/" in program:
        return os.fsencode(program)
    found = shutil.which(program, path=path)
    if found is None:
        raise FileNotFoundError(2, os.strerror(2), program)
    return os.fsencode(found)


def _check(error: int, name: str) -> None:
    if error:
        raise OSError(error, os.strerror(error), name)
