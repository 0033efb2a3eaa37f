"""Exceptions for mistakes a user can fix.

Entry points catch :class:`RADSegError` and print its message as one line (plus
an optional hint) instead of a traceback, then exit non-zero.
"""


class RADSegError(Exception):
    """A user-fixable problem: the message names the thing and the fix."""

    exit_code = 2


class WeightsNotFoundError(RADSegError):
    """Model weights (RADIO, SigLIP2 text tower, SAM) could not be loaded."""


class UnknownModelError(RADSegError):
    """A model version, language model or adaptor name that no source knows."""


class ClassNamesError(RADSegError):
    """A class-name file is missing, malformed or has the wrong length."""


class DatasetError(RADSegError):
    """A dataset folder is missing, empty, mis-laid or holds an unreadable file."""


class ConfigError(RADSegError):
    """A config file or a command-line value is wrong."""


class OutputError(RADSegError):
    """An output path cannot be written (missing permission, a file where a folder is needed)."""


class UnpinnedRevisionError(ConfigError):
    """Remote model code would run from a revision that is not a pinned commit."""
