#!/usr/bin/env python3
"""Start and stop a local single-node Elasticsearch for development, tests and CI.

Why this shape: Elastic publishes a small `integ-test-zip` distribution on Maven Central
(`org.elasticsearch.distribution.integ-test-zip:elasticsearch`), so the only things a machine
needs are a JDK, Maven and unzip; no other download site. The newest release published there
is 8.19.21 (no 9.x integ-test-zip exists on Maven Central), which runs on JDK 17 or newer.
Elasticsearch refuses to run as root, so as root a dedicated system user owns the unpacked
distribution and every node's data.

Layout (the cache is outside the repository so a clean clone reuses it):
    CACHE/m2/...                         Maven's local repository (the downloaded zip)
    CACHE/elasticsearch-VERSION/         the unpacked distribution (read-only for the node)
    CACHE/runs/NAME/{config,data,logs,tmp,node.json}   one node's state; `down` deletes it
CACHE is $TRIALMATCH_ES_CACHE, else /var/cache/trialmatch/elasticsearch as root (the node's
user must be able to reach it, and /root is private), else ~/.cache/trialmatch/elasticsearch.

Standard library only: `make es-up` runs before any virtual environment exists.
Exit codes: 0 ok, 3 prerequisites missing (no JDK 17+, no Maven/unzip and nothing cached),
1 anything else (the node did not come up; its log tail is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

VERSION = "8.19.21"
GROUP_ID = "org.elasticsearch.distribution.integ-test-zip"
ARTIFACT_ID = "elasticsearch"
MIN_JAVA = 17  # Elasticsearch 8.x
PREFERRED_JAVA = (21, 17)  # versions 8.19 is tested on; others >= MIN_JAVA are a fallback
ES_USER = "trialmatch-es"
HEAP = "512m"
DEFAULT_PORT = 9200
START_TIMEOUT_S = 180.0
EXIT_MISSING = 3


class Missing(RuntimeError):
    """A prerequisite (JDK, Maven, unzip) is not installed and nothing usable is cached."""


class NodeError(RuntimeError):
    """The node could not be started or stopped."""


def cache_root() -> Path:
    env = os.environ.get("TRIALMATCH_ES_CACHE")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/cache/trialmatch/elasticsearch")
    return Path.home() / ".cache" / "trialmatch" / "elasticsearch"


def run_dir(name: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise NodeError(f"node name {name!r}: use letters, digits, '.', '_' or '-'")
    return cache_root() / "runs" / name


@contextlib.contextmanager
def _locked():
    """One `up`/`down` at a time per cache: tests, make and CI may race."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- prerequisites -----------------------------------------------------------------------


def _java_major(home: Path) -> int | None:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.is_file():
        return None
    m = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
    return int(m.group(1)) if m else None


def find_java() -> Path:
    """$ES_JAVA_HOME if set, else a JDK under /usr/lib/jvm (or $JAVA_HOME) of version 17+."""
    explicit = os.environ.get("ES_JAVA_HOME")
    if explicit:
        major = _java_major(Path(explicit))
        if major is None or major < MIN_JAVA:
            raise Missing(f"ES_JAVA_HOME={explicit} is not a JDK {MIN_JAVA}+")
        return Path(explicit)
    candidates: dict[Path, int] = {}
    roots = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        roots += sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink())
    for home in roots:
        major = _java_major(home)
        if major is not None and major >= MIN_JAVA:
            candidates[home.resolve()] = major
    if not candidates:
        raise Missing(f"no JDK {MIN_JAVA}+ found (set ES_JAVA_HOME or install openjdk-17-jdk)")
    for wanted in PREFERRED_JAVA:
        for home, major in candidates.items():
            if major == wanted:
                return home
    return min(candidates, key=lambda h: candidates[h])


def _zip_path(m2: Path) -> Path:
    group = GROUP_ID.replace(".", "/")
    return m2 / group / ARTIFACT_ID / VERSION / f"{ARTIFACT_ID}-{VERSION}.zip"


def distribution() -> Path:
    """The unpacked distribution, fetched with Maven and unpacked with unzip on first use."""
    root = cache_root()
    dist = root / f"elasticsearch-{VERSION}"
    if (dist / "bin" / "elasticsearch").is_file():
        return dist
    m2 = root / "m2"
    archive = _zip_path(m2)
    if not archive.is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise Missing("Maven (mvn) is not installed and the Elasticsearch zip is not cached")
        print(f"fetching {GROUP_ID}:{ARTIFACT_ID}:{VERSION}:zip with Maven", file=sys.stderr)
        subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                f"-Dmaven.repo.local={m2}",
                "dependency:get",
                f"-Dartifact={GROUP_ID}:{ARTIFACT_ID}:{VERSION}:zip",
                "-Dtransitive=false",
            ],
            check=True,
        )
        if not archive.is_file():
            raise NodeError(f"Maven finished but {archive} is missing")
    if shutil.which("unzip") is None:
        raise Missing("unzip is not installed")
    staging = root / f".unpack-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(["unzip", "-q", str(archive), "-d", str(staging)], check=True)
    (staging / f"elasticsearch-{VERSION}").rename(dist)
    staging.rmdir()
    return dist


def _ensure_user() -> tuple[int, int] | None:
    """As root: the dedicated user's (uid, gid), created on first use; otherwise None."""
    if os.geteuid() != 0:
        return None
    try:
        found = subprocess.run(["id", "-u", ES_USER], capture_output=True, text=True)
        if found.returncode != 0:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    ES_USER,
                ],
                check=True,
            )
        import pwd

        entry = pwd.getpwnam(ES_USER)
        return entry.pw_uid, entry.pw_gid
    except (OSError, subprocess.CalledProcessError) as exc:
        raise NodeError(f"cannot create or find user {ES_USER}: {exc}") from exc


def _chown_tree(path: Path, ids: tuple[int, int]) -> None:
    uid, gid = ids
    os.chown(path, uid, gid)
    for parent, dirs, files in os.walk(path):
        for item in (*dirs, *files):
            os.chown(os.path.join(parent, item), uid, gid, follow_symlinks=False)


# --- one node ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Elasticsearch binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _health(url: str, wait: str = "0s") -> dict | None:
    try:
        with urllib.request.urlopen(
            f"{url}/_cluster/health?wait_for_status=yellow&timeout={wait}", timeout=5
        ) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still "exists"; reap it if it is ours
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _is_node(pid: int) -> bool:
    """Alive and still an Elasticsearch process (a stale pid may now be someone else's)."""
    if not _alive(pid):
        return False
    try:
        return b"elasticsearch" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()  # no /proc: trust the pid


def read_state(name: str) -> dict | None:
    state = run_dir(name) / "node.json"
    try:
        return json.loads(state.read_text())
    except (OSError, ValueError):
        return None


def running_url(name: str = "default") -> str | None:
    """The URL of the named node if it is up and at least yellow, else None."""
    state = read_state(name)
    if not state or not _is_node(int(state["pid"])):
        return None
    health = _health(state["url"])
    return state["url"] if health and health.get("status") in ("yellow", "green") else None


def _log_tail(run: Path, lines: int = 40) -> str:
    log = run / "logs" / "console.log"
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _write_config(run: Path, port: int, transport: int, name: str, heap: str) -> None:
    config = run / "config"
    config.mkdir(parents=True)
    dist = distribution()
    for item in ("log4j2.properties", "jvm.options"):
        shutil.copy(dist / "config" / item, config / item)
    settings = {
        "cluster.name": f"trialmatch-{name}",
        "node.name": name,
        "path.data": str(run / "data"),
        "path.logs": str(run / "logs"),
        "network.host": "127.0.0.1",
        "http.port": port,
        "transport.port": transport,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        "node.store.allow_mmap": False,
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.auto_create_index": False,  # every index is created explicitly, with mappings
    }
    (config / "elasticsearch.yml").write_text(
        "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items())
    )
    (config / "jvm.options.d").mkdir()
    (config / "jvm.options.d" / "trialmatch.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")


def up(name: str = "default", port: int | None = None, heap: str = HEAP) -> tuple[str, bool]:
    """Starts the named node unless it is up or starting; returns (url, started_now).

    The lock covers only preparing and spawning, so starting one node never blocks another
    caller for the whole boot; a second caller for the same node waits for it instead.
    """
    with _locked():
        state = read_state(name)
        if state and _is_node(int(state["pid"])):
            return _wait_ready(name, state["url"], int(state["pid"]), None), False
        url, proc = _spawn(name, port, heap)
    return _wait_ready(name, url, proc.pid, proc), True


def _spawn(name: str, port: int | None, heap: str) -> tuple[str, subprocess.Popen]:
    java = find_java()
    dist = distribution()
    ids = _ensure_user()
    run = run_dir(name)
    _stop(name)  # a dead node's leftovers
    if port is None:
        port = DEFAULT_PORT if name == "default" and _port_free(DEFAULT_PORT) else _free_port()
    elif not _port_free(port):
        raise NodeError(f"port {port} on 127.0.0.1 is in use")
    _write_config(run, port, _free_port(), name, heap)
    for sub in ("data", "logs", "tmp"):
        (run / sub).mkdir()
    if ids is not None:
        root = cache_root()
        for path in (root, root / "runs"):
            os.chmod(path, 0o755)
        if dist.stat().st_uid != ids[0]:
            _chown_tree(dist, ids)
        _chown_tree(run, ids)
    env = {
        "PATH": "/usr/bin:/bin",
        "ES_JAVA_HOME": str(java),
        "ES_PATH_CONF": str(run / "config"),
        "ES_TMPDIR": str(run / "tmp"),
        "LANG": "C.UTF-8",
    }
    with open(run / "logs" / "console.log", "ab") as console:
        proc = subprocess.Popen(
            [str(dist / "bin" / "elasticsearch")],
            cwd=run / "logs",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the caller (make, pytest) and gets its own group
            user=ids[0] if ids else None,
            group=ids[1] if ids else None,
            extra_groups=[] if ids else None,
        )
    url = f"http://127.0.0.1:{port}"
    state = {"pid": proc.pid, "url": url, "port": port, "version": VERSION, "java": str(java)}
    (run / "node.json").write_text(json.dumps(state, indent=2) + "\n")
    return url, proc


def _wait_ready(name: str, url: str, pid: int, proc: subprocess.Popen | None) -> str:
    """Waits for yellow health; a node that dies or never gets there is stopped."""
    run = run_dir(name)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if (proc.poll() is not None) if proc is not None else not _is_node(pid):
            raise NodeError(f"Elasticsearch exited; log tail:\n{_log_tail(run)}")
        health = _health(url, "1s")
        if health and health.get("status") in ("yellow", "green"):
            return url
        time.sleep(0.5)
    tail = _log_tail(run)
    down(name)
    raise NodeError(f"Elasticsearch not yellow after {START_TIMEOUT_S:.0f}s:\n{tail}")


def _stop(name: str, timeout: float = 30.0) -> bool:
    """Stops the node's process group and deletes its run folder; True if one was running."""
    run = run_dir(name)
    state = read_state(name)
    was_running = False
    if state:
        pid = int(state["pid"])
        if _is_node(pid):
            was_running = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(run, ignore_errors=True)
    return was_running


def down(name: str = "default") -> bool:
    with _locked():
        return _stop(name)


def kill(name: str) -> None:
    """SIGKILLs the node (a crash, for fault tests); its folder stays until `down`."""
    state = read_state(name)
    if state and _is_node(int(state["pid"])):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(state["pid"]), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(int(state["pid"])) and time.monotonic() < deadline:
            time.sleep(0.1)


def names() -> list[str]:
    runs = cache_root() / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start a node (or reuse it) and print its URL")
    p_up.add_argument("--name", default="default")
    p_up.add_argument(
        "--port",
        type=int,
        default=int(os.environ["TRIALMATCH_ES_PORT"])
        if os.environ.get("TRIALMATCH_ES_PORT")
        else None,
        help="HTTP port on 127.0.0.1 (default $TRIALMATCH_ES_PORT, else 9200 if free, else any)",
    )
    p_up.add_argument("--heap", default=HEAP)
    p_down = sub.add_parser("down", help="stop a node and delete its data and logs")
    p_down.add_argument("--name", default="default")
    p_down.add_argument("--all", action="store_true", help="every node of this cache")
    p_url = sub.add_parser("url", help="print the URL of a running node (exit 1 if none)")
    p_url.add_argument("--name", default="default")
    sub.add_parser("check", help="exit 0 if a node can be started here, 3 if not")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            url, started = up(args.name, args.port, args.heap)
            print(f"Elasticsearch {VERSION} {'started' if started else 'running'}", file=sys.stderr)
            print(url)
        elif args.command == "down":
            for name in names() if args.all else [args.name]:
                stopped = down(name)
                print(f"{name}: {'stopped' if stopped else 'not running'}", file=sys.stderr)
        elif args.command == "url":
            url = running_url(args.name)
            if not url:
                return 1
            print(url)
        else:
            java = find_java()
            if not (cache_root() / f"elasticsearch-{VERSION}").is_dir() and not (
                _zip_path(cache_root() / "m2").is_file() or shutil.which("mvn")
            ):
                raise Missing(
                    "Maven (mvn) is not installed and the Elasticsearch zip is not cached"
                )
            print(f"ok: JDK {java}", file=sys.stderr)
    except Missing as exc:
        print(f"es_node: {exc}", file=sys.stderr)
        return EXIT_MISSING
    except (NodeError, subprocess.CalledProcessError, OSError) as exc:
        print(f"es_node: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
