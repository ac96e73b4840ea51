"""The local model server: a real llama.cpp process on 127.0.0.1, started on first use, reused,
restarted when it died, stopped on exit, and never left behind when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rag.llm import LocalChatModel
from rag.local_server import LocalServer, LocalServerError
from rag.settings import Settings

pytestmark = pytest.mark.slow


def _gone(pid: int, within: float = 15.0) -> bool:
    """True once `pid` has exited (a zombie waiting to be reaped counts as exited)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def model(local_model_file, data_dir):
    m = LocalChatModel(Settings(backend="local", local_model_path=local_model_file, max_answer_tokens=16))
    yield m
    m.server.stop()


def test_starts_on_first_use_reuses_and_stops(model):
    assert not model.server.alive()  # constructing does not start it
    first = model.complete([{"role": "user", "content": "Reply with one word: yes"}], max_tokens=3)
    pid, starts = model.server.pid, model.server.starts
    assert first.text.strip() and first.usage["completion_tokens"] >= 1
    assert model._url.startswith("http://127.0.0.1:")
    model.complete([{"role": "user", "content": "Reply with one word: no"}], max_tokens=3)
    assert model.server.pid == pid and model.server.starts == starts  # reused across questions
    model.server.stop()
    assert _gone(pid)


def test_a_dead_server_is_restarted_on_the_next_request(model):
    model.warm_up()
    old, starts = model.server.pid, model.server.starts
    os.kill(old, signal.SIGKILL)
    assert _gone(old)
    done = model.complete([{"role": "user", "content": "Reply with one word: again"}], max_tokens=3)
    assert done.text.strip()
    assert model.server.pid != old and model.server.starts == starts + 1


def test_the_server_dies_with_its_parent(local_model_file, tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from rag.llm import LocalChatModel
        from rag.settings import Settings
        m = LocalChatModel(Settings(backend="local", data_dir={str(tmp_path)!r}, local_model_path={str(local_model_file)!r}))
        m.warm_up()
        print(m.server.pid, flush=True)
        time.sleep(300)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(child, 0)  # running
    parent.kill()  # SIGKILL: no atexit, no cleanup code runs in the parent
    parent.wait()
    assert _gone(child), "the model server outlived its parent"


def test_two_servers_in_one_machine_do_not_clash(local_model_file, tmp_path):
    a = LocalServer(local_model_file, threads=1, ctx=512, log_dir=tmp_path)
    b = LocalServer(local_model_file, threads=1, ctx=512, log_dir=tmp_path)
    try:
        assert a.url() != b.url()
        assert a.alive() and b.alive()
    finally:
        a.stop()
        b.stop()


def test_a_broken_model_file_fails_with_the_log_and_leaves_nothing_running(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    server = LocalServer(bad, threads=1, ctx=512, log_dir=tmp_path / "logs", start_timeout=60)
    with pytest.raises(LocalServerError, match=r"exited during start-up(.|\n)*rag doctor"):
        server.url()
    assert not server.alive()
    assert list((tmp_path / "logs").glob("local-llm.*.log"))  # kept for diagnosis


def test_the_prompt_prefix_cache_is_saved_and_restored_by_the_next_server(local_model_file):
    from rag.answer import _fixed_prefix

    prefix = _fixed_prefix() + [{"role": "user", "content": "Sources:\n\nQuestion: warm-up"}]
    model = LocalChatModel(Settings(backend="local", local_model_path=local_model_file))
    try:
        assert model.prime(prefix) == "computed"
        folder = model.server.slot_dir  # of the first data directory that started this process's server
        assert folder.parent.name == "cache"
        saved = list(folder.glob("prefix-*.bin"))
        assert len(saved) == 1 and saved[0].stat().st_size > 1_000_000
        model.server.stop()  # as when the process exits; the next one starts a fresh server
        assert model.prime(prefix) == "restored"
        done = model.complete(prefix[:-1] + [{"role": "user", "content": "Sources:\n\nQuestion: Say ok."}],
                              max_tokens=4)
        assert done.text.strip()
        other = [{"role": "system", "content": "A different prefix."}]
        assert model.prime(other) == "computed"  # another prefix is not confused with the saved one
        assert [p.name for p in folder.glob("prefix-*.bin")] != [saved[0].name]
    finally:
        model.server.stop()
