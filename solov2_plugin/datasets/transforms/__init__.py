"""Data transforms for the seed's format."""

from .image_loading import LoadSeedImage
from .loading import LoadSeedInstanceMasks

__all__ = ["LoadSeedImage", "LoadSeedInstanceMasks"]
