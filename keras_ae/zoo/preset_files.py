"""The names of a preset directory's files, shared by the code that writes, checks, describes
and publishes them."""

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
#: A few test inputs with the codes and reconstructions the saved model gave: a check of the
#: weights that needs no dataset.
GOLDEN_FILE = "golden.npz"
#: The files ``load`` reads; the card and the pictures are for people.
FILES_TO_LOAD = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)
