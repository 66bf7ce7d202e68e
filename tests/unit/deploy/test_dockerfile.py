"""The image recipe: hadolint finds nothing, and the properties the chart relies on hold.

The image cannot be built on these machines; its install step (`pip install .` of the package sources,
without extras) is proven in a clean virtualenv by tests/integration/test_product_install.py, which
copies exactly the sources the Dockerfile copies (checked here).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
TEXT = DOCKERFILE.read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n\s*", " ", "\n".join(line for line in TEXT.splitlines() if not line.startswith("#"))
    )
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^(\w+)\s+(.*)$", joined, re.M)]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    done = subprocess.run([hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_stage_starts_from_a_base_pinned_by_digest() -> None:
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", TEXT, re.M))
    bases = [arg.split()[0] for op, arg in _instructions() if op == "FROM"]
    assert len(bases) == 2  # a build stage and the final one
    for base in bases:
        resolved = args.get(base.strip("${}"), base)
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", resolved), resolved


def test_the_final_stage_runs_trustline_as_a_numeric_non_root_user() -> None:
    final = _final_stage()
    users = [arg for op, arg in final if op == "USER"]
    assert users and re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", users[-1])
    assert ("ENTRYPOINT", '["trustline"]') in final  # exec form: signals reach the process itself
    # Only the virtualenv crosses from the build stage: no compiler, no pip cache, no sources.
    copies = [arg for op, arg in final if op == "COPY"]
    assert copies == ["--from=build /opt/trustline /opt/trustline"]
    assert not any(op == "RUN" for op, _ in final)


def test_oci_labels_and_compiled_bytecode() -> None:
    labels = " ".join(arg for op, arg in _final_stage() if op == "LABEL")
    for key in ("title", "description", "licenses", "version", "revision", "created"):
        assert f"org.opencontainers.image.{key}=" in labels, key
    run = " ".join(arg for op, arg in _instructions() if op == "RUN")
    assert "compileall" in run
    assert "PYTHONDONTWRITEBYTECODE=1" in TEXT  # nothing is written beside the compiled files at run time


def test_the_install_step_takes_no_extras_and_the_sources_the_install_test_proves() -> None:
    run = " ".join(arg for op, arg in _instructions() if op == "RUN")
    assert re.search(r"pip install --no-compile \.(\s|$)", run), run
    assert "[" not in run.split("pip install", 1)[1].split("&&")[0]  # `.[local]` would bring the local stack
    copied = sorted(
        src for op, arg in _instructions() if op == "COPY" and not arg.startswith("--from")
        for src in arg.split()[:-1]
    )  # fmt: skip
    from tests.integration.test_product_install import SOURCES

    assert copied == sorted(SOURCES)
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignored[0] == "*" and sorted(i.strip("!/") for i in ignored if i.startswith("!")) == sorted(
        SOURCES
    )
