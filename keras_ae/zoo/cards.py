"""Rewrites the checkout's preset cards (``README.md``) from their ``metadata.json``, so that a
change to the card template reaches every preset without touching its weights:
``python -m keras_ae.zoo.cards [NAME ...] [--check]``."""

import argparse
import json
import os
import sys
from pathlib import Path

from keras_ae.zoo import registry
from keras_ae.zoo.model_card import model_card
from keras_ae.zoo.preset_files import CARD_FILE, METADATA_FILE


def current_card(directory: str | os.PathLike) -> str:
    """The card ``model_card`` writes today for the preset in ``directory``."""
    directory = Path(directory)
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    return model_card(metadata, default_name=directory.name)


def stale_cards(names: list[str] | None = None) -> list[str]:
    """The checkout's presets (of ``names``; default all) whose card is not today's."""
    stale = []
    for name in names or list(registry.PRESETS):
        directory = registry.bundled_directory(name)
        if directory is None:
            continue
        if (directory / CARD_FILE).read_text(encoding="utf-8") != current_card(directory):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="presets to rewrite (default: all)")
    parser.add_argument("--check", action="store_true", help="only list the stale cards")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(registry.PRESETS))
    if unknown:
        parser.error(f"unknown preset(s) {unknown}; known: {sorted(registry.PRESETS)}")
    stale = stale_cards(args.names)
    if args.check:
        for name in stale:
            print(f"{name}: card out of date; run python -m keras_ae.zoo.cards {name}")
        return 1 if stale else 0
    for name in stale:
        directory = registry.bundled_directory(name)
        (directory / CARD_FILE).write_text(current_card(directory), encoding="utf-8")
        print(f"rewrote {directory / CARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
