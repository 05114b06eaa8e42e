"""The names of a preset directory's files, shared by the code that writes, checks, describes
and publishes them."""

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
#: The weights only training uses (FactorVAE's discriminator): optional, since ``encode``,
#: ``decode``, ``reconstruct`` and ``sample`` need only ``WEIGHTS_FILE``.
TRAINING_WEIGHTS_FILE = "training.weights.h5"
#: What loading a preset without its ``TRAINING_WEIGHTS_FILE`` means (messages and the card).
LOADED_WITHOUT_TRAINING_WEIGHTS = (
    "the model encodes, decodes, reconstructs and samples exactly as with it, and `fit` "
    "trains freshly initialised training-only networks instead of resuming with the trained ones"
)
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
#: A few test inputs with the codes and reconstructions the saved model gave: a check of the
#: weights that needs no dataset.
GOLDEN_FILE = "golden.npz"
#: The files ``load`` reads; the card and the pictures are for people.
FILES_TO_LOAD = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)
