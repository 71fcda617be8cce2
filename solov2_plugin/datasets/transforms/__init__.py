"""Data transforms for the seed's format."""

from .loading import LoadSeedInstanceMasks

__all__ = ["LoadSeedInstanceMasks"]
