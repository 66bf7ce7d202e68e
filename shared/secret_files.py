"""`TRUSTLINE_<NAME>_FILE`: any setting read from a file, the way Kubernetes mounts secrets.

A secret mounted as a file never enters the process environment (nor `/proc/<pid>/environ`, nor a crash
report that dumps it), and a Strimzi or CloudNativePG secret can be mounted as it is. Setting both the
variable and its `_FILE` twin is an error: which one wins would be a guess.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError

SUFFIX = "_FILE"


class FileSettingsSource(PydanticBaseSettingsSource):
    """Values of `<prefix><NAME>_FILE` variables: the file's text without its trailing newline."""

    def __init__(self, settings_cls: type[BaseSettings], prefix: str) -> None:
        super().__init__(settings_cls)
        self._prefix = prefix

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` reads every field at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            variable = f"{self._prefix}{name.upper()}"
            path = os.environ.get(variable + SUFFIX)
            if not path:
                continue
            if os.environ.get(variable):
                raise SettingsError(f"{variable} and {variable}{SUFFIX} are both set: keep one")
            out[name] = read_secret(Path(path), variable + SUFFIX)
        return out


def read_secret(path: Path, what: str) -> str:
    """The text of a mounted secret, without the newline an editor or `echo` adds."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{what}: cannot read {path} ({exc.__class__.__name__})") from None
