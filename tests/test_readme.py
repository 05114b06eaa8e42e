"""The README's Python examples run as written: each block in a fresh interpreter in an empty
directory, or, for the one that uses the Hub, against the test mirror (which serves the
README's ``hf://org/repo``) with ``publish`` recorded instead of sent."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
#: Sections whose blocks are fragments, not programs: "Adding a model" shows a class's
#: decorators with the body left out.
FRAGMENTS = ("Adding a model",)


def _python_blocks() -> list[tuple[str, int, str]]:
    """``(section, line, code)`` of every python block of the README, fragments left out."""
    blocks, section = [], ""
    lines = README.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if line.strip() == "```python":
            end = lines.index("```", index + 1)
            if section not in FRAGMENTS:
                blocks.append((section, index + 2, "\n".join(lines[index + 1 : end]) + "\n"))
            index = end
        index += 1
    return blocks


def _needs_full_mnist(code: str) -> bool:
    return 'load("mnist"' in code


def _marks(code: str) -> list:
    # Preparing the full keras_ae_dsprites takes minutes, full MNIST needs its wheel: the large
    # tier.
    large = "tfds.load(" in code or _needs_full_mnist(code)
    return [pytest.mark.large] if large else [pytest.mark.slow]


BLOCKS = _python_blocks()
OFFLINE = [block for block in BLOCKS if "hf://" not in block[2]]
HUB = [block for block in BLOCKS if "hf://" in block[2]]


def test_the_readme_has_the_blocks_this_file_runs():
    sections = [section for section, _, _ in BLOCKS]
    assert sections[0] == "Quickstart"
    assert {"Data and TensorFlow Datasets", "Presets and the Hub"} <= set(sections)
    assert len(HUB) == 1


@pytest.mark.parametrize(
    "block",
    [pytest.param(block, marks=_marks(block[2]), id=f"line{block[1]}") for block in OFFLINE],
)
def test_an_offline_block_runs_in_a_fresh_interpreter(block, tmp_path, request):
    section, line, code = block
    if _needs_full_mnist(code):
        request.getfixturevalue("full_mnist")
    # TFDS's data directory and Keras' cache are the session's empty ones (tests/conftest.py).
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, f"README.md:{line} ({section}):\n{result.stderr[-3000:]}"


@pytest.mark.slow
def test_the_hub_block_runs_against_the_mirror(hub, fake_hub, tmp_path, monkeypatch, capsys):
    section, line, code = HUB[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})

    assert "# beta_vae_dsprites" in capsys.readouterr().out  # print(model.preset.card)
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "my_preset").is_dir()
    uploaded = next(call for call in fake_hub if call[0] == "upload_folder")[1]
    assert uploaded["repo_id"] == "org/repo"
    assert re.search(r"my_preset$", uploaded["folder_path"])
