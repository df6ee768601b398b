"""Backends registered by name, chosen by config, swappable at run time (one registry per kind).

The registry itself lives in the NLU library (nlu.plugins), which must not import the assistant.
"""

from nlu.plugins import Registry, UnknownBackendError

__all__ = ["Registry", "UnknownBackendError"]
