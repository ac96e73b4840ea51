"""The local model server: llama.cpp (via xllamacpp) speaking the OpenAI protocol on 127.0.0.1.

    server = shared_server(settings)     # one per process and model; started on first use
    base_url = server.url()              # http://127.0.0.1:PORT/v1, for the `openai` client
    server.stop()                        # also done at exit

The server is a child process (`python -m rag.local_server`), so a crash in native code cannot take
the caller down and a stuck generation can be killed. It binds 127.0.0.1 on a free port chosen by
the OS, so several `rag` processes each run their own without clashing. It never outlives its
parent: it exits when its stdin pipe closes (the parent exited, however it died), Linux also sends
it SIGTERM when the parent dies (PR_SET_PDEATHSIG), and the parent stops it at exit. Its log goes
to DATA_DIR/logs/local-llm.<pid>.log, removed after a clean stop; a failed start quotes its tail.
llama.cpp keeps the last prompt's KV cache (`cache_prompt`), so the fixed system prompt at the
start of every request is not read again; `LocalChatModel.prime` also saves that cache to
DATA_DIR/cache/llm-prefix/ (slot save, about 16 MB) and restores it in milliseconds when a new
process starts its server, instead of reading the prefix again (about 5-8 s on two cores). This module does not build prompts (`rag.answer`).
"""

from __future__ import annotations

import argparse
import atexit
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from rag.errors import ConfigError, LocalServerError
from rag.local_model import MODEL_NAME

READY = "READY "


def runtime_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("xllamacpp") is not None
    except (ImportError, ValueError):
        return False


class LocalServer:
    """One llama.cpp server child process for one model file."""

    def __init__(self, model_path: Path, *, threads: int, ctx: int, log_dir: Path, start_timeout: float = 180.0,
                 slot_dir: Path | None = None):
        self.model_path, self.threads, self.ctx = Path(model_path), threads, ctx
        self.slot_dir = Path(slot_dir) if slot_dir else None
        self.log_dir, self.start_timeout = Path(log_dir), start_timeout
        self.starts = 0
        self._proc: subprocess.Popen | None = None
        self._url: str | None = None
        self._log: Path | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self) -> str:
        """The OpenAI base URL, starting (or restarting, if it died) the server first."""
        with self._lock:
            if not self.alive():
                self._start()
            return self._url

    def _start(self) -> None:
        self._cleanup()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_dir / f"local-llm.{os.getpid()}.log"
        cmd = [sys.executable, "-m", "rag.local_server", "--model", str(self.model_path),
               "--threads", str(self.threads), "--ctx", str(self.ctx)]
        if self.slot_dir:
            self.slot_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["--slots", str(self.slot_dir)]
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                          start_new_session=True)  # Ctrl-C reaches us, not it; we stop it
        self.starts += 1
        line = self._read_ready()
        self._url = line[len(READY):].strip().rstrip("/") + "/v1"

    def _read_ready(self) -> str:
        proc = self._proc  # stop() from another thread (exit) may clear self._proc meanwhile
        deadline = time.monotonic() + self.start_timeout
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        try:
            while time.monotonic() < deadline:
                if sel.select(timeout=0.2):
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    buf += chunk
                    for line in buf.decode(errors="replace").splitlines():
                        if line.startswith(READY):
                            return line
                if proc.poll() is not None:
                    break
        except (OSError, ValueError):  # the pipe was closed under us: stopped while starting
            pass
        finally:
            sel.close()
        try:  # the pipe closes a moment before the process can be reaped
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.stop()
        what = f"exited during start-up (code {code})" if code is not None else \
            f"did not start within {self.start_timeout:g}s"
        raise LocalServerError(f"the local model server {what}; its log ends:\n{self._tail()}\n"
                               f"Check the model with: rag doctor (log: {self._log})")

    def _tail(self, lines: int = 8) -> str:
        try:
            text = self._log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("  " + ln for ln in text[-lines:]) or "  (empty log)"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (closing its stdin asks it to exit; then SIGTERM, then SIGKILL)."""
        proc, self._proc, self._url = self._proc, None, None
        if proc is None:
            return
        clean = True
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, OSError):
            clean = False
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()
        if clean and proc.returncode == 0 and self._log:
            self._log.unlink(missing_ok=True)

    def _cleanup(self) -> None:
        if self._proc is not None:
            self.stop(timeout=1.0)


_SERVERS: dict[tuple, LocalServer] = {}
_SERVERS_LOCK = threading.Lock()


def shared_server(settings) -> LocalServer:
    """The process-wide server for this model and these settings (created, not started)."""
    from rag.local_model import ensure_model

    if not runtime_available():
        raise ConfigError("the local model runtime (xllamacpp) is not installed; run: pip install "
                          "'paper-rag[local]' (or use --backend extractive/openai)")
    path = ensure_model(settings)
    threads = settings.local_threads or os.cpu_count() or 2
    key = (str(path.resolve()), threads, settings.local_ctx)
    with _SERVERS_LOCK:
        if key not in _SERVERS:
            _SERVERS[key] = LocalServer(path, threads=threads, ctx=settings.local_ctx,
                                        log_dir=settings.data_dir / "logs", start_timeout=settings.local_start_timeout,
                                        slot_dir=settings.cache_dir / "llm-prefix")
        return _SERVERS[key]


@atexit.register
def stop_all() -> None:
    with _SERVERS_LOCK:
        for server in _SERVERS.values():
            server.stop()


# ---------------------------------------------------------------- child side


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the parent dies (belt and braces beside the stdin pipe)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def serve(model: str, threads: int, ctx: int, slots: str | None = None) -> None:
    import xllamacpp

    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(0)
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = MODEL_NAME
    params.n_ctx = ctx
    # One slot. Its KV cache keeps the fixed prompt prefix between answers; a different prompt in
    # between (a chat follow-up being condensed) is parked in llama.cpp's host-memory prompt cache
    # (cache_ram_mib) and the prefix comes back from there. Two slots measured slower per answer.
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    params.cache_ram_mib = 256
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free port
    params.offline = True
    if slots:
        params.slot_save_path = slots.rstrip("/") + "/"  # llama.cpp appends the file name as is
    server = xllamacpp.Server(params)
    print(READY + server.listening_address, flush=True)
    try:
        while sys.stdin.buffer.read(4096):  # returns b"" when the parent closes the pipe or dies
            pass
    except (KeyboardInterrupt, OSError):
        pass
    del server


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Serve the local model on 127.0.0.1 (started by rag itself).")
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--ctx", type=int, default=4096)
    p.add_argument("--slots", help="folder for saved prompt caches (slot save/restore)")
    args = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(args.model, args.threads, args.ctx, args.slots)
    except Exception:  # noqa: BLE001 - report it in the log, and exit even if native threads linger
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
