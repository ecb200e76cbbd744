"""A warm interpreter: it has started once, and forks node processes that go on as if Python
had just started them on the node's script (``nodepipe.execution.warm_start`` drives it).

Starting Python costs a node process about 9 ms of CPU before its first line; most of it is
the same for every node of a run (the interpreter, its standard modules, ``site``). This
script is started by the nodes' base interpreter through an environment of no packages
(``pyvenv.cfg`` and a link to the interpreter), with the variables the nodes share, then
waits. For each node it forks, and the child becomes the node's process: a session of its
own, the node's folder, standard streams and variables, ``sys.executable``, ``sys.argv`` and
``sys.path`` as Python sets them, then ``site`` run for the node's own environment (its
``.pth`` files and ``sitecustomize``), then the script run as ``__main__`` and the interpreter
ended as usual (``atexit``, buffered files flushed, the exit status or signal of the script).

What a node can still tell: its parent is this process, ``ps`` shows this command line and
``/proc/<pid>/environ`` the shared variables (``os.environ`` is the node's own), nodes of one
run share a hash seed, the objects Python made as it started are in ``gc``'s permanent
generation (``gc.freeze``: the nodes do not copy them to collect them), and below the script's
outermost frame is one of this file's (``inspect.stack()`` and ``traceback.print_stack()``
show it, and a warning whose ``stacklevel`` goes past the script's frames names it rather
than ``sys:1``; tracebacks leave it out).

The protocol, on standard input and output (a pipe each way), ``\\n``-ended lines:
``ready`` once started; ``F<length>`` then that many bytes (fields separated by NUL: python,
folder, log, log's device, log's inode, the number of arguments, the arguments, then the
variables as ``name=value``) answered with the child's pid (or ``E`` and why the fork failed);
``R<pid>`` answered with its wait status once it ended. End of input ends this process.

Only the standard library modules Python has loaded as it starts are used here (``gc`` is
taken out of ``sys.modules`` again), so a node finds the same modules loaded as if Python
had started it.
"""

import os
import sys

_REQUESTS, _ANSWERS = 0, 1


def _started_as_python_starts() -> bool:
    """Whether only Python's and nodepipe's code ran as this interpreter started: a
    ``sitecustomize`` of the user's (on the nodes' PYTHONPATH) or a ``usercustomize`` would
    run here and again in each node it forks, twice in all (its ``atexit`` handlers, its
    changes to ``sys.path``). One in the standard library, installed with Python (Debian's
    apport hook), is taken as Python's own."""
    if "usercustomize" in sys.modules:
        return False
    module = sys.modules.get("sitecustomize")
    if module is None:
        return True
    folder = os.path.dirname(getattr(module, "__file__", None) or "")
    ours = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    standard = os.path.dirname(os.__file__)
    return folder == standard or os.path.realpath(folder) == ours


def _freeze() -> None:
    """What Python made as it started goes to ``gc``'s permanent generation: a child does
    not touch (and copy) every object of its parent when it collects garbage as it ends."""
    import gc

    gc.freeze()
    del sys.modules["gc"]


def _read_exactly(count: int, pending: bytes) -> tuple[bytes, bytes]:
    while len(pending) < count:
        chunk = os.read(_REQUESTS, 1 << 16)
        if not chunk:
            os._exit(0)
        pending += chunk
    return pending[:count], pending[count:]


def _serve() -> list[bytes]:
    """Answer requests until one fork's child returns here with its node's fields."""
    os.write(_ANSWERS, b"ready\n")
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = os.read(_REQUESTS, 1 << 16)
            if not chunk:  # the run ended (or its process died): so does this one
                os._exit(0)
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        if line[:1] == b"R":
            try:
                status = os.waitpid(int(line[1:]), 0)[1]
                os.write(_ANSWERS, b"%d\n" % status)
            except (OSError, ValueError) as error:
                os.write(_ANSWERS, b"E%s\n" % str(error).encode(errors="replace"))
            continue
        payload, pending = _read_exactly(int(line[1:]), pending)
        if _fork():
            return payload.split(b"\0")


def _fork() -> bool:
    """Fork a child, answer with its pid: True in the child.

    The child is in a session of its own before the pid is said (the run may signal its
    group at once), and goes on only once its pid was said: ended before (killed between the
    fork and its answer), this process leaves a child the run does not know of, which must
    not run the node (the run starts it from nothing)."""
    in_session, settled = os.pipe()
    told, tell = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:
        for fd in (in_session, settled, told, tell):
            os.close(fd)
        os.write(_ANSWERS, b"E%s\n" % str(error).encode(errors="replace"))
        return False
    if pid == 0:
        os.close(in_session)
        os.close(tell)
        os.setsid()
        os.close(settled)
        said = os.read(told, 1)
        os.close(told)
        if said != b"g":
            os._exit(127)
        return True
    os.close(settled)
    os.close(told)
    os.read(in_session, 1)  # the child closed its end: in its session, or gone
    os.close(in_session)
    if os.environ.get("NODEPIPE_CRASH_AT") == "warm.forked":  # fault tests (crash_points)
        os.kill(os.getpid(), 9)
    os.write(_ANSWERS, b"%d\n" % pid)
    os.write(tell, b"g")
    os.close(tell)
    return False


def _streams(log: bytes, device: int, inode: int) -> None:
    """Standard input from /dev/null, output and errors to the node's log (the very file the
    run opened: refused if another took its name since), opened as the run opened it (its
    flags, its offset at the end): found without following a link nor opening what is there
    (a FIFO put there would block), then opened again through ``/proc`` once it is known to
    be the log."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    found = os.open(log, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        seen = os.fstat(found)
        if (seen.st_dev, seen.st_ino) != (device, inode):
            raise OSError(f"{os.fsdecode(log)} is no longer the node's log")
        out = os.open(f"/proc/self/fd/{found}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    finally:
        os.close(found)
    os.lseek(out, 0, os.SEEK_END)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def _standard_streams() -> None:
    """``sys.stdin``, ``stdout`` and ``stderr`` made again over the node's descriptors as
    Python makes them as it starts (``create_stdio``): those made for the warm interpreter's
    pipes would tell a pipe from the node's log (``seekable``, ``tell``)."""
    import io  # loaded as Python started

    buffered = not sys.__stdout__.write_through  # type: ignore[union-attr]  # -u
    for fd, name, writes in ((0, "stdin", False), (1, "stdout", True), (2, "stderr", True)):
        made = getattr(sys, f"__{name}__")
        buffering = 0 if writes and not buffered else -1
        stream = open(fd, "wb" if writes else "rb", buffering, closefd=False)  # noqa: SIM115
        raw = stream.raw if buffering else stream  # type: ignore[attr-defined]
        raw.name = f"<{name}>"  # type: ignore[misc]
        line_buffering = buffered and (raw.isatty() or fd == 2)
        text = io.TextIOWrapper(
            stream, made.encoding, made.errors, "\n", line_buffering, not buffered
        )
        text.mode = "w" if writes else "r"  # type: ignore[misc]
        setattr(sys, name, text)
        setattr(sys, f"__{name}__", text)


def _become(fields: list[bytes]) -> tuple[str, list[str]]:
    """This forked child becomes the node's process, up to running its script: the script's
    file name and the arguments."""
    python, folder, log, device, inode, count = fields[:6]
    arguments = [os.fsdecode(a) for a in fields[6 : 6 + int(count)]]
    variables = fields[6 + int(count) :]
    _streams(log, int(device), int(inode))
    _standard_streams()
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(
        (os.fsdecode(name), os.fsdecode(value))
        for name, _, value in (item.partition(b"=") for item in variables)
    )
    sys.executable = os.fsdecode(python)
    sys.orig_argv = [sys.executable, *arguments]
    script = arguments[0]
    sys.path_importer_cache.pop(sys.argv[0], None)  # Python's look at this file as it started
    sys.path_importer_cache[os.path.abspath(script)] = None  # and at the script's (a file)
    sys.argv = arguments
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    _site_for_the_node()
    return os.path.abspath(script), arguments


def _site_for_the_node() -> None:
    """``site`` once more, now for the node's environment (found beside ``sys.executable``):
    its site-packages and ``.pth`` files, then ``sitecustomize`` as Python imports it."""
    loader = sys.modules["_frozen_importlib_external"].SourceFileLoader
    cache_bytecode = loader._cache_bytecode
    loader._cache_bytecode = getattr(cache_bytecode, "__wrapped__", cache_bytecode)
    sys.modules.pop("sitecustomize", None)
    sys.modules.pop("usercustomize", None)
    import site

    site.main()


def _main_module(path: str) -> dict[str, object]:
    """A fresh ``__main__`` as Python makes it for a script."""
    main = type(sys)("__main__")
    loader = sys.modules["_frozen_importlib_external"].SourceFileLoader
    main.__dict__.update(
        __annotations__={},
        __builtins__=sys.modules["builtins"],
        __cached__=None,
        __file__=path,
        __loader__=loader("__main__", path),
        __package__=None,
        __spec__=None,
    )
    sys.modules["__main__"] = main
    return main.__dict__


def _cannot_open(path: str, error: OSError) -> None:
    sys.stderr.write(
        f"{sys.executable}: can't open file {path!r}: [Errno {error.errno}] {error.strerror}\n"
    )
    sys.stderr.flush()
    os._exit(2)


def _setup_failed(error: BaseException) -> None:
    """The child could not become the node's process: say so where it can, end at once."""
    message = f"# nodepipe: could not start the node's process: {error}\n".encode(errors="replace")
    try:
        os.write(2, message)
    finally:
        os._exit(127)


if not _started_as_python_starts():
    os._exit(0)  # never ready: the nodes start from nothing
_freeze()
try:
    _path, _arguments = _become(_serve())
except BaseException as _error:  # the child's setup: never back into the serving loop
    _setup_failed(_error)
try:
    with open(_path, "rb") as _file:
        _source = _file.read()
except OSError as _error:
    _cannot_open(_path, _error)
_globals = _main_module(_path)
del _file, _arguments
globals()["__name__"] = "nodepipe_warm"  # no second __main__ (a warning past the script's
# frames is this module's: not shown as one of __main__'s, as it is not from nothing)
try:  # compiled here: a syntax error is said as Python says it too
    exec(compile(_source, _path, "exec", dont_inherit=True), _globals)
except SystemExit:
    raise
except BaseException as _raised:  # said as Python says it, without this file's frame
    _traceback = _raised.__traceback__
    _raised.__traceback__ = _traceback.tb_next if _traceback else None
    sys.excepthook(type(_raised), _raised, _raised.__traceback__)
    sys.excepthook = lambda *_: None  # Python ends as for this exception, saying nothing more
    raise
