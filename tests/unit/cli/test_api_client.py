"""Where the registry commands send their calls, and which key they present."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from trustline.cli.api_client import ApiError, check_url, default_url, path, read_key
from trustline.shared.settings import Settings

PROD = Settings(
    env="prod",
    database_url=SecretStr("postgresql://db/x"),
    kafka_bootstrap="k:9092",
    metrics_token=SecretStr("t"),
)


def test_the_default_url_is_the_apis_own_address() -> None:
    assert default_url(Settings()) == "http://127.0.0.1:8000"
    assert default_url(Settings(api_host="0.0.0.0", api_port=9000)) == "http://127.0.0.1:9000"
    assert default_url(Settings(api_host="::1")) == "http://[::1]:8000"
    assert default_url(Settings(api_url="https://trustline.example")) == "https://trustline.example"


def test_the_key_comes_from_the_file_first_then_the_environment(tmp_path: Path) -> None:
    assert read_key(None, Settings()) is None
    assert read_key(None, Settings(api_key=SecretStr("tl_env_x"))) == "tl_env_x"
    keyfile = tmp_path / "k"
    keyfile.write_text("tl_file_y\n# comment\n")
    assert read_key(keyfile, Settings(api_key=SecretStr("tl_env_x"))) == "tl_file_y"
    for content in ("", "\n", "tl_a b\n", "tl_\u00e9\n"):
        keyfile.write_text(content)
        with pytest.raises(ApiError):
            read_key(keyfile, Settings())
    with pytest.raises(ApiError, match="cannot read"):
        read_key(tmp_path / "missing", Settings())


def test_prod_never_sends_a_key_in_clear_to_another_host() -> None:
    check_url("http://127.0.0.1:8000", PROD, with_key=True)
    check_url("http://localhost:8000", PROD, with_key=True)
    check_url("https://trustline.example", PROD, with_key=True)
    check_url("http://trustline.example", Settings(), with_key=True)  # dev
    check_url("http://trustline.example", PROD, with_key=False)  # no key to leak
    with pytest.raises(ApiError, match="plain HTTP"):
        check_url("http://trustline.example", PROD, with_key=True)
    for bad in ("ftp://x", "trustline.example:8000", "http://"):
        with pytest.raises(ApiError, match="must be http"):
            check_url(bad, Settings(), with_key=False)


def test_path_segments_are_quoted() -> None:
    assert path("a b", "../x") == "/a%20b/..%2Fx"
