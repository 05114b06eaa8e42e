"""What a loaded preset records beside its weights, reachable from the model as
``model.preset``: the metadata, metrics, recipe, model card and pictures."""

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keras_ae.zoo.preset_files import CARD_FILE


@dataclasses.dataclass(frozen=True)
class PresetInfo:
    """A loaded preset's records. ``keras_ae.load`` sets it as ``model.preset``.

    Attributes:
        source: the name, ``hf://`` handle or directory the preset was loaded from.
        directory: its local directory (for a Hub preset, in the Hugging Face cache).
        metadata: its ``metadata.json``: versions, parameter count, recipe, dataset, metrics.
    """

    source: str
    directory: Path
    metadata: Mapping[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics measured when the preset was made (``{}`` if it records none)."""
        return dict(self.metadata.get("metrics") or {})

    @property
    def recipe(self) -> dict | None:
        """The recipe it was trained from (``zoo_configs/<name>.yaml``, defaults filled in)."""
        return self.metadata.get("recipe")

    @property
    def card(self) -> str:
        """The model card (``README.md``, Markdown), or ``""`` if the preset has none."""
        path = self.directory / CARD_FILE
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @property
    def pictures(self) -> dict[str, Path]:
        """The pictures the card shows, by file name, those present on disk."""
        names = self.metadata.get("pictures") or []
        return {name: self.directory / name for name in names if (self.directory / name).is_file()}

    def __repr__(self) -> str:
        return (
            f"PresetInfo({self.source!r}: {self.metadata.get('class_name')}, "
            f"{len(self.metrics)} metrics, card and pictures in {self.directory})"
        )
