"""Exception hierarchy of the toolkit.

Every error a user can cause with bad input or a bad model file is a subclass of
:class:`AnomalyError`, so callers can catch one type. The CLI turns these into a
one-line message and exit status 2.
"""

from __future__ import annotations


class AnomalyError(Exception):
    """Base class of every error raised on purpose by the toolkit."""


class DataError(AnomalyError, ValueError):
    """Input data is unusable: empty, non-numeric, NaN/inf, unsorted or duplicate timestamps."""


class SchemaError(DataError):
    """Channels of the input do not match the channels the detector was fitted on."""


class NotFittedError(AnomalyError, AttributeError):
    """A detector or threshold was used before ``fit``."""


class ModelFileError(AnomalyError):
    """A saved model directory is missing, truncated, corrupted or from a newer format."""


class ConfigError(AnomalyError, ValueError):
    """A parameter value or a detector name is not valid."""
