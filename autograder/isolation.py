"""Isolation: the namespaces, mounts, privileges and limits a runner lives in (Linux only).

A runner enters new network, mount and PID namespaces (:func:`enter`), and when
the grading user is not root, a new user namespace first, in which that user is
mapped to ``nobody`` (65534): unprivileged user namespaces give a normal user the
same walls root builds. :func:`confine` then builds the runner's view of the
machine, the same for root and for a normal user:

- a fresh ``/proc`` that shows only the runner's own processes;
- every mount made read-only (``mount_setattr(2)``, recursively): nothing on the
  host can be written from inside, wherever it lives, so a runner whose user maps
  to the grading user still cannot touch that user's files;
- empty tmpfs over the places where course files, submissions, reports or other
  people's files live (:data:`HIDDEN` and the folders the grader names), with the
  Python installation alone bind-mounted back, read-only;
- a small writable tmpfs at ``/tmp`` with the scratch folder ``/tmp/work``;
- no privileges left: the capability bounding set emptied and every capability
  dropped (root also switches to user ``nobody``).

:func:`limits` sets the rlimits and no-new-privs. ``python -m autograder.isolation`` builds the
whole cage once and prints what it sees from inside: :func:`available` runs it to
decide whether this machine can isolate student code at all
(``python -m autograder.isolation --check`` prints only why not).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import subprocess
import sys

NOBODY = 65534
# Folders hidden behind an empty tmpfs inside the sandbox (besides the ones the caller names).
HIDDEN = ("/work", "/root", "/home", "/srv", "/opt", "/mnt", "/media", "/var/tmp", "/var/lib", "/run", "/dev/shm")
# Set by tests (and by anyone who wants to see the message) to act as a machine without namespaces.
SIMULATE_UNAVAILABLE = "AUTOGRADER_NO_NAMESPACES"

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 1024, 2048, 4096, 8192, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
MOUNT_ATTR_RDONLY, AT_FDCWD, AT_RECURSIVE = 1, -100, 0x8000
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG = 24, 38, 1
CAP_VERSION_3 = 0x20080522

OPTIONS = (
    "run `grade` as root, enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
    "or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, and user.max_user_namespaces > 0), "
    "or grade trusted notebooks only with --no-sandbox"
)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def available() -> str | None:
    """None when this machine can isolate student code, else why not (one line, with the options)."""
    if os.environ.get(SIMULATE_UNAVAILABLE):
        why = f"namespaces are switched off ({SIMULATE_UNAVAILABLE} is set)"
    else:
        why = _probe(os.geteuid())
    return None if why is None else f"{why}. Options: {OPTIONS}"


@functools.cache
def _probe(euid: int) -> str | None:
    """Build the cage once in a throwaway process (the code every runner uses); None when it works."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox uses Linux namespaces, and this is {sys.platform}"
    try:
        done = subprocess.run(
            [sys.executable, "-s", "-m", "autograder.isolation"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the isolation check could not run ({exc})"
    if done.returncode == 0:
        return None
    detail = (done.stderr.strip().splitlines() or ["it failed"])[-1][:200]
    if euid != 0:
        return f"this machine does not let a normal user create namespaces ({detail})"
    return f"namespaces cannot be created here ({detail})"


def enter(keep_fd: int | None = None) -> None:
    """Move into new namespaces; returns in the child that is the first process of the new PID namespace.

    The calling process stays outside, waits for that child, and exits with its code;
    it closes ``keep_fd`` (the result pipe) first, so the grader sees the pipe
    close when the runner dies.
    """
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | (CLONE_NEWUSER if uid != 0 else 0)
    if libc.unshare(flags) != 0:
        raise _fail("unshare")
    if uid != 0:  # the grading user is nobody in here: the only identity the namespace has
        for name, text in (("setgroups", "deny"), ("uid_map", f"{NOBODY} {uid} 1"), ("gid_map", f"{NOBODY} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    child = os.fork()
    if child:
        if keep_fd is not None:
            os.close(keep_fd)
        code = 1
        with contextlib.suppress(ChildProcessError):
            code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        os._exit(code if code >= 0 else 1)
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2), straight from libc: no `mount` process per call."""
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    if _libc().mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)) != 0:
        raise _fail(f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("attr_set", "attr_clr", "propagation", "userns_fd")]


def read_only_everywhere() -> None:
    """Make every mount of this mount namespace read-only (its own copies: the host's stay as they are)."""
    libc = _libc()
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    setattr_ = getattr(libc, "mount_setattr", None)
    if setattr_ is not None and setattr_(AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
        return
    # Kernels before 5.12: remount each mount point, keeping the flags a user namespace may not clear.
    keep = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME}
    keep |= {"nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
    with open("/proc/self/mountinfo") as f:
        points = [(line.split()[4], line.split()[5]) for line in f]
    for target, options in sorted(points, key=lambda p: len(p[0])):
        target = target.encode().decode("unicode_escape")
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in options.split(","):
            flags |= keep.get(option, 0)
        with contextlib.suppress(FileNotFoundError, PermissionError):
            mount(None, target, None, flags)


def installation() -> list[str]:
    """The folders of the Python that runs the runner, the only ones kept from the hidden places."""
    return sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def confine(hide: list[str]) -> str:
    """Build the runner's view of the machine and drop every privilege; returns the scratch folder."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    keep = installation()
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700")  # staging only
    covers = sorted({os.path.realpath(p) for p in (*HIDDEN, *hide) if os.path.isdir(p)}, key=len)
    covers = [c for c in covers if c != "/tmp" and not c.startswith("/tmp/")]
    top = [c for c in covers if not any(c.startswith(o + "/") for o in covers if o != c)]
    staged = []
    for i, path in enumerate(keep):
        if any(path == c or path.startswith(c + "/") for c in top):
            stage = f"/tmp/.keep{i}"
            os.mkdir(stage)
            mount(path, stage, None, MS_BIND | MS_REC)
            staged.append((stage, path))
    for cover in top:
        mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for stage, path in staged:
        os.makedirs(path, exist_ok=True)
        mount(stage, path, None, MS_MOVE)
    read_only_everywhere()
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    work = "/tmp/work"
    os.mkdir(work, 0o700)
    os.chown(work, NOBODY, NOBODY)
    drop_privileges()
    os.chdir(work)
    return work


def drop_privileges() -> None:
    """No capability left, in any set, for good; root becomes nobody (a user namespace's user already is)."""
    libc = _libc()
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        raise _fail("capset")


def limits(memory_mb: int, cpu_seconds: int) -> None:
    """Address space, CPU time, file size, open files, no core dumps, no new processes or threads; no-new-privs."""
    import resource

    for name, value in (
        ("RLIMIT_AS", memory_mb << 20),
        ("RLIMIT_CPU", cpu_seconds),
        ("RLIMIT_FSIZE", 32 << 20),
        ("RLIMIT_NOFILE", 256),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", 1),
    ):
        limit = getattr(resource, name)
        _, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))
    if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("no_new_privs")


def _report(keep: list[str], hide: list[str]) -> str:
    """What the cage looks like from inside (the probe prints it; tests read it)."""
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    writable = []
    for path in ("/", "/etc", "/usr", "/var", "/dev/shm", *keep):
        try:
            os.mkdir(os.path.join(path, ".autograder-probe"))
            writable.append(path)
        except OSError:
            pass
    lines = [
        f"uid {os.getuid()} {os.geteuid()} gid {os.getgid()} {os.getegid()}",
        *(f"{key} {status.get(key, '?').strip()}" for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")),
        f"NoNewPrivs {status.get('NoNewPrivs', '?').strip()}",
        f"processes {sorted(int(p) for p in os.listdir('/proc') if p.isdigit())}",
        f"visible {_visible(keep, hide)}",
        f"writable {writable}",
    ]
    return "\n".join(lines)


def _visible(keep: list[str], hide: list[str]) -> list[str]:
    """What the hidden folders show: nothing but the folders leading to the Python installation."""
    seen = []
    for top in (*HIDDEN, *hide):
        for folder, dirs, files in os.walk(top):
            paths = [os.path.join(folder, d) for d in dirs]
            on_the_way = [p for p in paths if p not in keep and any(k.startswith(p + "/") for k in keep)]
            seen += [p for p in paths if p not in keep and p not in on_the_way]
            seen += [os.path.join(folder, f) for f in files]
            dirs[:] = [os.path.basename(p) for p in on_the_way]
    return seen


def _main(argv: list[str]) -> int:
    """Probe: enter the namespaces, confine, print the view from inside; exit 0 when all of it worked."""
    enter()
    try:
        keep = installation()
        confine(argv)
        limits(256, 10)
        print(_report(keep, argv), flush=True)
    except BaseException as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:  # for `make grade-sample`: quiet when the sandbox works, else why not
        reason = available()
        print(reason or "", end="\n" if reason else "")
        sys.exit(1 if reason else 0)
    try:
        sys.exit(_main(sys.argv[1:]))
    except OSError as exc:
        print(f"{exc}", file=sys.stderr)
        sys.exit(1)
