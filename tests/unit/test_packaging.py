"""The distribution lists every package of the source tree (setuptools does not discover renamed ones).

Setuptools' discovery (`packages.find`) names a package after its folder: with the card's layout it finds
`services.api`, never `trustline.api`, and it cannot apply the `package-dir` rename. So the list in
pyproject.toml is kept by hand and checked here; tests/integration/test_product_install.py checks that
the installed package holds every module of the tree.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
TOPS = ("services", "shared")


def test_every_source_package_is_in_the_distribution() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, name in (("services", "trustline"), ("shared", "trustline.shared")):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *parts)))
    assert found == listed


def test_every_folder_of_modules_is_a_package() -> None:
    # A folder without __init__.py would be missing from the list and from the check above alike.
    folders = {p.parent for top in TOPS for p in (ROOT / top).rglob("*.py")}
    assert folders
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert not missing, missing


def _folder_of(package: str) -> Path:
    """Where a package's files are in the checkout, by the `package-dir` mapping (longest prefix first)."""
    for prefix, folder in sorted(SETUPTOOLS["package-dir"].items(), key=lambda item: -len(item[0])):
        if package == prefix or package.startswith(prefix + "."):
            return ROOT / folder / Path(*package.removeprefix(prefix).split(".")[1:])
    raise AssertionError(f"{package} is outside the package-dir mapping")


def test_the_package_data_exists() -> None:
    for package, patterns in SETUPTOOLS["package-data"].items():
        for pattern in patterns:
            assert list(_folder_of(package).glob(pattern)), (package, pattern)
