"""Errors of machine building."""


class BuildError(ValueError):
    """The scenario describes something this machine cannot have."""
