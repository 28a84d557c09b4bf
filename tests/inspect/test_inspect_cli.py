"""``reflog inspect``'s arguments: mistakes are one line and exit status 1, never a traceback."""

from __future__ import annotations

import pytest

from reflog.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--drop", "Produse"], "unknown API 'Produse'"),
        (["--drop", "Produce:x"], "must be a number"),
        (["--delay-ms", "-5"], "--delay-ms must not be negative"),
        (["--delay-api", "Nope"], "unknown API 'Nope'"),
    ],
)
def test_bad_fault_options_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status = main(["inspect", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", *args])
    assert status == 1
    assert message in capsys.readouterr().err


def test_a_bad_address_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--listen", "nowhere", "--upstream", "127.0.0.1:9"]) == 1
    assert "--listen must look like HOST:PORT" in capsys.readouterr().err
    assert main(["inspect", "--listen", "127.0.0.1:0", "--upstream", "a:1,b:2"]) == 1
    assert "--upstream takes one HOST:PORT" in capsys.readouterr().err
