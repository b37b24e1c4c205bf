"""The argon2id cost of password hashes: the production default, the setting, its bounds.

The suite itself hashes at the lowest cost (tests/conftest.py); these tests check, in fresh
processes, that a server with nothing set hashes at RFC 9106's t=3, 64 MiB, 4 lanes, that the
setting is what the hashes carry, and that nonsense is refused before anything is hashed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tradesys.settings import Argon2Parameters, argon2_parameters, weak_argon2

HASH_ONE = ("from tradesys.identity.passwords import hash_password, verify_password;"
            "h = hash_password('correct horse battery');"
            "assert verify_password(h, 'correct horse battery');"
            "assert not verify_password(h, 'wrong horse battery');"
            "print(h)")


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADESYS_ARGON2_")}
    return subprocess.run([sys.executable, "-c", HASH_ONE], env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_with_nothing_set_hashes_are_rfc_9106s_second_recommendation() -> None:
    done = _run({})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_setting_is_the_cost_the_hashes_carry() -> None:
    done = _run({"TRADESYS_ARGON2_TIME_COST": "2", "TRADESYS_ARGON2_MEMORY_KIB": "20480",
                 "TRADESYS_ARGON2_PARALLELISM": "2"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("$argon2id$v=19$m=20480,t=2,p=2$")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("TRADESYS_ARGON2_TIME_COST", "0", "TRADESYS_ARGON2_TIME_COST must be a whole number"),
    ("TRADESYS_ARGON2_TIME_COST", "three", "TRADESYS_ARGON2_TIME_COST must be a whole number"),
    ("TRADESYS_ARGON2_MEMORY_KIB", "-5", "TRADESYS_ARGON2_MEMORY_KIB must be a whole number"),
    ("TRADESYS_ARGON2_MEMORY_KIB", "7", "at least 8 × TRADESYS_ARGON2_PARALLELISM"),
    ("TRADESYS_ARGON2_PARALLELISM", "²", "TRADESYS_ARGON2_PARALLELISM must be a whole number"),
])
def test_a_bad_setting_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch, name: str,
                                                 value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        argon2_parameters()
    assert message in _run({name: value}).stderr


def test_weak_parameters_are_named() -> None:
    assert not weak_argon2(Argon2Parameters(3, 65536, 4))
    assert not weak_argon2(Argon2Parameters(2, 19 * 1024, 1))
    assert weak_argon2(Argon2Parameters(1, 65536, 4))
    assert weak_argon2(Argon2Parameters(3, 19 * 1024 - 1, 1))
