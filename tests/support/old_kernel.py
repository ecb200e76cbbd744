"""A program run as on an older Linux: before 6.9 (``pidfd_send_signal`` refuses every flag:
EINVAL) or before 5.3 (no pidfds at all: ``pidfd_open`` and ``pidfd_send_signal`` ENOSYS);
or in a sandbox whose seccomp profile refuses ``pidfd_send_signal`` (EPERM: ``sandbox``).

Linux 6.9 added ``PIDFD_SIGNAL_PROCESS_GROUP`` (a pidfd's process group); older kernels,
which have pidfds since 5.3, answer EINVAL to any flag. A seccomp filter gives the older
kernel's answer on this one, for real, to the program and everything it starts (a filter is
inherited and survives ``execve``): ``python tests/support/old_kernel.py 6.9|5.3|sandbox PROGRAM
ARGS...`` (run as before that version). The tests run as root (CAP_SYS_ADMIN: no
``no_new_privs`` needed). x86-64 only; elsewhere it says so and fails.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import struct
import sys

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_AUDIT_ARCH_X86_64 = 0xC000003E
_NR_PIDFD_SEND_SIGNAL = 424
_NR_PIDFD_OPEN = 434
_LOAD, _JUMP_IF_EQUAL, _RETURN = 0x20, 0x15, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_RET|K
_ALLOW = 0x7FFF0000
_EINVAL = 0x00050000 | errno.EINVAL  # SECCOMP_RET_ERRNO
_ENOSYS = 0x00050000 | errno.ENOSYS
_EPERM = 0x00050000 | errno.EPERM
_FLAGS_OFFSET = 16 + 3 * 8  # seccomp_data: nr, arch, ip, then args[3] (its low half)


_BEFORE = {
    "6.9": [  # pidfd_send_signal with flags: EINVAL
        (_LOAD, 0, 0, 4),  # arch
        (_JUMP_IF_EQUAL, 0, 5, _AUDIT_ARCH_X86_64),
        (_LOAD, 0, 0, 0),  # the system call's number
        (_JUMP_IF_EQUAL, 0, 3, _NR_PIDFD_SEND_SIGNAL),
        (_LOAD, 0, 0, _FLAGS_OFFSET),
        (_JUMP_IF_EQUAL, 1, 0, 0),
        (_RETURN, 0, 0, _EINVAL),
        (_RETURN, 0, 0, _ALLOW),
    ],
    "5.3": [  # pidfd_open and pidfd_send_signal: ENOSYS
        (_LOAD, 0, 0, 4),
        (_JUMP_IF_EQUAL, 0, 3, _AUDIT_ARCH_X86_64),
        (_LOAD, 0, 0, 0),
        (_JUMP_IF_EQUAL, 2, 0, _NR_PIDFD_OPEN),
        (_JUMP_IF_EQUAL, 1, 0, _NR_PIDFD_SEND_SIGNAL),
        (_RETURN, 0, 0, _ALLOW),
        (_RETURN, 0, 0, _ENOSYS),
    ],
    "sandbox": [  # not an old kernel: a seccomp profile that refuses signals by pidfd (EPERM)
        (_LOAD, 0, 0, 4),
        (_JUMP_IF_EQUAL, 0, 2, _AUDIT_ARCH_X86_64),
        (_LOAD, 0, 0, 0),
        (_JUMP_IF_EQUAL, 1, 0, _NR_PIDFD_SEND_SIGNAL),
        (_RETURN, 0, 0, _ALLOW),
        (_RETURN, 0, 0, _EPERM),
    ],
}
_REFUSED = {"5.3": errno.ENOSYS, "6.9": errno.EINVAL, "sandbox": errno.EPERM}


def run_as_before(version: str) -> None:
    """Install the filter of ``version`` (a key of :data:`_BEFORE`) in this process, and
    check the kernel now answers as before it."""
    if os.uname().machine != "x86_64":
        raise SystemExit("old_kernel: only x86-64 is known")
    program = _BEFORE[version]
    code = b"".join(struct.pack("HBBI", *line) for line in program)
    filters = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HxxxxxxP", len(program), ctypes.addressof(filters))
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_char_p]
    if prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, fprog) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    try:
        if version == "5.3":
            os.pidfd_open(os.getpid())
        else:  # with the flag of 6.9 (PIDFD_SIGNAL_THREAD_GROUP)
            signal.pidfd_send_signal(os.pidfd_open(os.getpid()), 0, None, 4)
    except OSError as refused:
        if refused.errno == _REFUSED[version]:
            return
    raise SystemExit(f"old_kernel: the kernel does not answer as before {version}")


if __name__ == "__main__":
    run_as_before(sys.argv[1])
    os.execv(sys.argv[2], sys.argv[2:])
