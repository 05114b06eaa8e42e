"""The pretrained presets keras-ae knows by name, and what the package vouches for.

Every preset is made from its recipe, ``zoo_configs/<name>.yaml``; its trained files are kept in
the repository as ``keras_ae/zoo/bundled/<name>/``, laid out exactly as its Hub repository
``keras-ae/<name>``. Neither is in the wheel. ``catalogue.json``, which is, is generated from
both::

    python -m keras_ae.zoo.catalogue            # rewrite keras_ae/zoo/catalogue.json
    python -m keras_ae.zoo.catalogue --check    # exit 1 if it is out of date

For each preset it records:

- ``summary``: one line, derived from the recipe (the model's title, dataset and arguments);
- ``repo_id``: its Hub repository;
- ``revision``: the tag that ``keras-ae publish --all`` gives the commit holding this folder,
  ``sha256-<16 hex digits>`` of the folder's content (``null`` when there is no folder yet);
- ``files``: the sha256 of every file in the folder, checked against every file downloaded;
- ``headline``: its headline metrics, for ``keras-ae list`` without downloading anything;
- ``needs_data``: the dataset keras-ae cannot download that a recipe-only preset needs.

In a checkout the folder is used as it is (offline, at once); an installed package downloads
``repo_id`` at ``revision`` and refuses any file that is not the one recorded here.
"""

import argparse
import difflib
import hashlib
import json
import sys
from pathlib import Path

#: The preset folders of a checkout: absent from an installed package.
PRESETS_DIRECTORY = Path(__file__).resolve().parent / "bundled"
#: The generated record, shipped in the wheel.
CATALOGUE_FILE = Path(__file__).resolve().parent / "catalogue.json"
#: The recipes, at the top of a checkout.
RECIPES_DIRECTORY = Path(__file__).resolve().parents[2] / "zoo_configs"

#: The Hub organisation that publishes keras-ae's presets.
HUB_ORGANISATION = "keras-ae"
#: The prefix of a pinned revision's tag.
REVISION_PREFIX = "sha256-"
#: Datasets keras-ae cannot download (a manual download), so their presets' weights are not
#: made here: such a recipe is listed as "recipe only".
_MANUAL_DATASETS = {"celeba": "CelebA", "shapes3d": "3D Shapes"}
#: Recipe model arguments a summary leaves out: the class names itself, the data gives the
#: shape.
_UNSUMMARISED = ("class", "input_shape")

LOCAL = "local"
ON_HUB = "hub"
PLANNED = "planned"
RECIPE_ONLY = "recipe only"


def _read_catalogue() -> dict[str, dict]:
    if not CATALOGUE_FILE.is_file():
        return {}
    return json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))["presets"]


#: name -> catalogue entry (see the module's docstring), in the catalogue's order.
PRESETS: dict[str, dict] = _read_catalogue()


def hf_handle(name: str) -> str:
    """``hf://<repo_id>`` of a registered preset."""
    return f"hf://{PRESETS[name]['repo_id']}"


def local_directory(name: str) -> Path | None:
    """The preset folder of ``name`` in this checkout, or None (an installed package)."""
    directory = PRESETS_DIRECTORY / name
    return directory if (directory / "config.json").is_file() else None


def status(name: str) -> str:
    """``"local"`` (its folder is in this checkout), ``"hub"`` (downloaded on first use, at its
    pinned revision), ``"recipe only: ..."`` (no weights: they need data keras-ae cannot fetch)
    or ``"planned"``."""
    entry = PRESETS[name]
    if local_directory(name) is not None:
        return LOCAL
    if entry.get("revision"):
        return ON_HUB
    if entry.get("needs_data"):
        return f"{RECIPE_ONLY}: the weights need the {entry['needs_data']} data"
    return PLANNED


def train_command(name: str) -> str:
    """The command that trains ``name`` from its recipe in a keras-ae checkout."""
    return f"keras-ae train zoo_configs/{name}.yaml --out runs"


def list_models(include_unavailable: bool = False) -> list[str] | dict[str, str]:
    """The names ``keras_ae.load`` accepts now, in the catalogue's order.

    With ``include_unavailable=True``, every registered name mapped to its status (see
    ``status``).
    """
    if include_unavailable:
        return {name: status(name) for name in PRESETS}
    return [name for name in PRESETS if status(name) in (LOCAL, ON_HUB)]


def close_matches(name: str) -> list[str]:
    """Registered names that look like ``name``, best first."""
    return difflib.get_close_matches(name, list(PRESETS), n=3, cutoff=0.5)


# ------------------------------------------------------------------------------- generation
def folder_files(directory: Path) -> dict[str, str]:
    """The sha256 of every file of a preset folder, by name (sorted)."""
    from keras_ae.checksums import sha256_of

    return {path.name: sha256_of(path) for path in sorted(directory.iterdir()) if path.is_file()}


def revision_of(files: dict[str, str]) -> str:
    """The tag of a folder's content: ``sha256-`` and the first 16 hex digits of the sha256 of
    its ``name  sha256`` lines, so that any changed file gives a new revision."""
    listing = "".join(f"{name}  {digest}\n" for name, digest in sorted(files.items()))
    return REVISION_PREFIX + hashlib.sha256(listing.encode()).hexdigest()[:16]


def summary(recipe: dict) -> str:
    """One line from a recipe: ``"<class> on <dataset>: <argument>=<value>, ..."``, e.g.
    ``"BetaVAE on dsprites: latent_dim=10, architecture=conv64, beta=8.0"``."""
    model = recipe["model"]
    arguments = ", ".join(
        f"{key}={value}" for key, value in model.items() if key not in _UNSUMMARISED
    )
    return f"{model['class']} on {recipe['data']['name']}: {arguments}"


def build(
    recipes: Path = RECIPES_DIRECTORY,
    presets: Path = PRESETS_DIRECTORY,
    org: str = HUB_ORGANISATION,
) -> dict:
    """The catalogue of every recipe in ``recipes`` and its folder in ``presets``."""
    import yaml

    from keras_ae.zoo.preset_files import METADATA_FILE
    from keras_ae.zoo.readme_table import headline

    entries, datasets = {}, {}
    for path in sorted(recipes.glob("*.yaml")):
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
        name = recipe["name"]
        if name != path.stem:
            raise ValueError(f"{path} names the preset {name!r}; a recipe is named after it.")
        folder = presets / name
        files = folder_files(folder) if (folder / METADATA_FILE).is_file() else {}
        metadata = json.loads((folder / METADATA_FILE).read_text()) if files else {}
        dataset = datasets[name] = recipe["data"]["name"]
        entries[name] = {
            "summary": summary(recipe),
            "repo_id": f"{org}/{name}",
            "revision": revision_of(files) if files else None,
            "files": files,
            "headline": headline(metadata["class_name"], metadata.get("metrics") or {})
            if metadata
            else "",
            "needs_data": None if files else _MANUAL_DATASETS.get(dataset),
        }
    # MNIST's first, then the other datasets', recipe-only ones last; by name within each.
    order = sorted(
        entries,
        key=lambda name: (
            entries[name]["needs_data"] is not None,
            datasets[name] != "mnist",
            datasets[name],
            name,
        ),
    )
    return {
        "generated_by": "python -m keras_ae.zoo.catalogue (from zoo_configs/ and the preset "
        "folders keras_ae/zoo/bundled/)",
        "presets": {name: entries[name] for name in order},
    }


def rendered(catalogue: dict) -> str:
    return json.dumps(catalogue, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check it is current")
    args = parser.parse_args(argv)
    if not RECIPES_DIRECTORY.is_dir():
        parser.error(f"no recipes at {RECIPES_DIRECTORY}: run this in a keras-ae checkout")
    wanted = rendered(build())
    current = CATALOGUE_FILE.read_text(encoding="utf-8") if CATALOGUE_FILE.is_file() else ""
    if args.check:
        if current != wanted:
            print(f"{CATALOGUE_FILE} is out of date: run python -m keras_ae.zoo.catalogue")
            return 1
        return 0
    CATALOGUE_FILE.write_text(wanted, encoding="utf-8")
    print(f"wrote {CATALOGUE_FILE} ({len(json.loads(wanted)['presets'])} presets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
