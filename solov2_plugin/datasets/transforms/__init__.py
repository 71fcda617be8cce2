"""Data transforms for the seed's format."""

from .caching import CachedTransforms
from .image_loading import LoadSeedImage
from .loading import LoadSeedInstanceMasks

__all__ = ["CachedTransforms", "LoadSeedImage", "LoadSeedInstanceMasks"]
