"""Errors meant for people: one clear message that names the thing and the fix."""


class CplibError(Exception):
    """Base class for errors the command line prints as one line, without a traceback."""


class DataError(CplibError, ValueError):
    """A dataset folder, category, split or image that cannot be used as given."""


class ConfigError(CplibError, ValueError):
    """An impossible or unknown setting (variant, profile, size, steps)."""


class TrainingDiverged(CplibError, RuntimeError):
    """The proxy-task loss became NaN or infinite: the model is useless and is not cached."""


class ResultDrift(CplibError, AssertionError):
    """A model trained now landed outside the committed seeded results of its configuration: they are out of date."""
