"""Where cplib reads and writes: the data folder in a checkout, in an install and under CPLIB_DATA_DIR."""

from __future__ import annotations

from pathlib import Path

import pytest

from cplib import paths
from cplib.errors import ConfigError


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CPLIB_DATA_DIR, and a cache folder of the test's own; returns the cache folder."""
    monkeypatch.delenv("CPLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_this_checkout_keeps_its_data_folder(no_settings: Path) -> None:
    assert paths.in_checkout()
    assert paths.data_dir() == paths.REPO_ROOT / "data"
    assert paths.models_dir() == paths.REPO_ROOT / "data" / "models"


def test_an_install_uses_the_user_cache(no_settings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"  # what REPO_ROOT is for an installed copy: no pyproject.toml naming cplib
    (site / "cplib").mkdir(parents=True)
    monkeypatch.setattr(paths, "REPO_ROOT", site)
    assert not paths.in_checkout()
    assert paths.data_dir() == no_settings / "cplib"
    assert paths.default_data_root() == no_settings / "cplib" / "default"
    (site / "pyproject.toml").write_text('[project]\nname = "another"\n')  # another project's checkout is not ours
    assert paths.data_dir() == no_settings / "cplib"


def test_cplib_data_dir_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "mine"))
    assert paths.data_dir() == tmp_path / "mine" and paths.models_dir() == tmp_path / "mine" / "models"


def test_require_checkout_names_the_option_in_one_line(tmp_path: Path) -> None:
    assert paths.require_checkout(tmp_path, "--notebooks") == tmp_path
    with pytest.raises(ConfigError) as error:
        paths.require_checkout(tmp_path / "notebooks", "--notebooks")
    message = str(error.value)
    assert message.startswith("--notebooks: ") and "source checkout" in message and "\n" not in message
