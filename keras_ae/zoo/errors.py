"""The errors of the preset layer: each says which of name, file, checksum, class or version went
wrong. ``hub.py`` adds the Hub's own."""


class PresetError(Exception):
    """A preset cannot be found, checked, loaded or published."""


class UnknownPresetError(PresetError, LookupError):
    """No preset answers to the name, path or handle given."""


class MissingFileError(PresetError, FileNotFoundError):
    """A preset directory lacks a file it needs."""


class ChecksumError(PresetError):
    """A preset's file does not match its sha256: the one ``metadata.json`` records for the
    weights, or, for a registered preset, the one the package's catalogue records."""


class UnregisteredClassError(PresetError):
    """The config names a class keras_ae did not register; it is not deserialised."""


class IncompatibleVersionError(PresetError):
    """The preset was written by a newer keras_ae than the one installed."""


class UnvouchedRevisionError(PresetError):
    """A registered preset was asked for at another revision than the one the package vouches
    for; load it by its ``hf://org/repo@revision`` handle to take it on its own checksums."""
