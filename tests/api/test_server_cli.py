"""``nodepipe server list`` and ``nodepipe server password``, run as a user types them, against
real server processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

import nodepipe
from api.live import free_port, info_of, server_env, server_process
from nodepipe.execution.recovery import this_process
from nodepipe.workspace.server_files import ServerInfo, write_info
from support.other_user import OtherUser

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
PASSWORD = "a long server password"


def cli(root: Path, runtime: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``nodepipe -w ROOT ARGS`` with no terminal (a password prompt reads standard input)."""
    return subprocess.run(
        [NODEPIPE, "-w", str(root), *args],
        env=server_env(runtime),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )


def dead_server(root: Path, runtime: Path) -> ServerInfo:
    """A server killed with SIGKILL: it had no chance to remove its info file."""
    command = [sys.executable, "-m", "nodepipe.api", "-w", str(root), "--port", str(free_port())]
    process = subprocess.Popen(
        command, env=server_env(runtime), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    info = info_of(runtime, process)
    process.kill()
    process.wait()
    return info


def test_the_listing_shows_a_running_servers_link_and_not_a_dead_ones(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    with server_process(chain.root, tmp_path / "serve.log", runtime) as live:
        dead = dead_server(chain.root, runtime)
        assert (runtime / dead.file_name).exists()
        pid, host, started = this_process()
        elsewhere = ServerInfo("/elsewhere", "http://127.0.0.1:9", "t" * 32, pid, host, started, "")
        write_info(elsewhere, runtime)
        listed = cli(chain.root, runtime, "server", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [server["link"] for server in json.loads(listed.stdout)] == [live.link]
        assert not (runtime / dead.file_name).exists()  # cleaned
        assert (runtime / elsewhere.file_name).exists()  # alive, another workspace's
        text = cli(chain.root, runtime, "server", "list").stdout
        assert live.link in text and dead.url not in text
        opened = httpx.get(live.link, follow_redirects=False)  # the app's shell, no cookie
        assert opened.status_code in (200, 503) and "set-cookie" not in opened.headers
    stopped = cli(chain.root, runtime, "server", "list")
    assert (
        stopped.returncode == 0 and "no server" in stopped.stdout and live.url not in stopped.stdout
    )


def test_a_password_set_with_the_cli_logs_a_browser_in(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    runtime, config = tmp_path / "runtime", chain.root / "nodepipe.toml"
    mode = config.stat().st_mode
    assert (
        cli(
            chain.root, runtime, "server", "password", "--password-stdin", stdin="short\n"
        ).returncode
        == 2
    )
    mismatch = cli(chain.root, runtime, "server", "password", stdin=f"{PASSWORD}\nother\n\n")
    assert mismatch.returncode != 0 and "[server]" not in config.read_text()
    typed = cli(chain.root, runtime, "server", "password", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert typed.returncode == 0, typed.stderr
    assert PASSWORD not in typed.stdout + typed.stderr + config.read_text()
    assert "scrypt$" in config.read_text() and config.stat().st_mode == mode
    with server_process(chain.root, tmp_path / "serve.log", runtime) as live:
        login = f"{live.url}/login"
        wrong = httpx.post(login, json={"password": "not the password"})
        assert wrong.status_code == 401 and "session" not in wrong.json()
        right = httpx.post(login, json={"password": PASSWORD})
        assert right.status_code == 200 and not right.cookies
        session = {"Authorization": f"Bearer {right.json()['session']}"}
        assert httpx.get(f"{live.url}/api/projects", headers=session).is_success
    cleared = cli(chain.root, runtime, "server", "password", "--clear", "--json")
    assert json.loads(cleared.stdout) == {"password": False, "removed": True}
    assert "[server]" not in config.read_text()
    assert config.stat().st_mode == mode


def test_a_server_refuses_to_start_with_a_password_it_cannot_check(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    config = chain.root / "nodepipe.toml"
    config.write_text(config.read_text() + '\n[server]\npassword = "hunter22"\n')
    command = [sys.executable, "-m", "nodepipe.api", "-w", str(chain.root), "--port", "8"]
    started = subprocess.run(
        command, env=server_env(tmp_path / "runtime"), capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 2 and "nodepipe server password" in started.stderr
    assert not (tmp_path / "runtime").exists()


def test_a_runtime_folder_that_is_not_private_and_ours_is_refused(
    chain: nodepipe.Workspace, tmp_path: Path, other: OtherUser
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    listed = cli(chain.root, not_a_folder / "runtime", "server", "list")
    assert listed.returncode == 6 and "set NODEPIPE_RUNTIME_DIR" in listed.stderr
    theirs = other.folder("nodepipe-runtime-")
    try:
        served = cli(chain.root, theirs, "serve", "--port", str(free_port()))
        assert served.returncode == 6 and "not a folder of this user's" in served.stderr
        assert list(theirs.iterdir()) == []
    finally:
        shutil.rmtree(theirs)


def test_a_runtime_folder_named_by_xdg_that_is_not_ours_gives_way_to_the_home_one(
    chain: nodepipe.Workspace, tmp_path: Path, other: OtherUser
) -> None:
    """``su alice`` may keep root's ``XDG_RUNTIME_DIR``; a login without a session may name
    one never made. Neither stops ``serve`` nor is written into (the server's token went into
    another user's folder, or into one it made there): its info file goes into the home's
    runtime folder, where ``server list`` finds it."""
    home = tmp_path / "home"
    home.mkdir()
    theirs = other.folder("nodepipe-xdg-")
    theirs.chmod(0o700)
    never_made = tmp_path / "run" / "user" / "4242"
    try:
        for xdg in (theirs, never_made):
            env = {k: v for k, v in server_env(tmp_path).items() if k != "NODEPIPE_RUNTIME_DIR"}
            env |= {"HOME": str(home), "XDG_RUNTIME_DIR": str(xdg)}
            command = [NODEPIPE, "-w", str(chain.root), "serve", "--port", str(free_port())]
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                info = info_of(home / ".local" / "share" / "nodepipe" / "runtime", process)
                listed = subprocess.run(
                    [NODEPIPE, "-w", str(chain.root), "server", "list", "--json"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                assert listed.returncode == 0, listed.stderr
                assert [server["link"] for server in json.loads(listed.stdout)] == [info.link]
            finally:
                process.terminate()
                process.wait(timeout=30)
        assert list(theirs.iterdir()) == []
        assert not never_made.exists()
    finally:
        shutil.rmtree(theirs)
