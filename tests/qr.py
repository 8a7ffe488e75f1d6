"""Reading a QR code the way a phone does: zbarimg (package zbar-tools) decodes regular QR codes and not
Micro QR, which common phone and WeChat scanners cannot read either. A missing zbarimg fails the test."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest


def scan(png: bytes) -> str:
    """The text of the one symbol in the PNG, which must be a regular QR code."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is required to decode QR codes: apt-get install zbar-tools (.ci/run installs it)")
    with tempfile.NamedTemporaryFile(suffix=".png") as image:
        image.write(png)
        image.flush()
        result = subprocess.run([zbarimg, "--quiet", image.name], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"zbarimg found no symbol (exit {result.returncode}): {result.stderr.strip()}"
    [symbol] = result.stdout.splitlines()
    kind, _, text = symbol.partition(":")
    assert kind == "QR-Code", symbol
    return text
