"""The ``xaikit`` command."""
