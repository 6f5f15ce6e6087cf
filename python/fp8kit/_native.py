"""Loads the compiled core, fp8kit._C, with an error that says how to get it."""

try:
    from . import _C
except ImportError as error:  # pragma: no cover - only without a build
    raise ImportError(
        "fp8kit's compiled extension (fp8kit._C) is missing or cannot be loaded: install the package with "
        "`pip install .` from the repository root (it builds the extension with CMake)"
    ) from error

__all__ = ["_C"]
