"""``CachedTransforms``: run the deterministic head of a pipeline once per image."""

import copy
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmdet.registry import TRANSFORMS
from mmdet.structures.mask import BitmapMasks

#: Default memory cap of one process's cache: 4 GiB.
DEFAULT_MAX_BYTES = 4 << 30


def result_nbytes(value: Any) -> int:
    """Bytes held by the arrays of a (nested) result dict: images, masks, boxes.

    Args:
        value: A result dict, or any value inside one.

    Returns:
        int: Sum of ``nbytes`` of every NumPy array, ``BitmapMasks`` and box
        tensor reachable through dicts, lists and tuples.
    """
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, BitmapMasks):
        return value.masks.nbytes
    if isinstance(value, dict):
        return sum(result_nbytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(result_nbytes(item) for item in value)
    tensor = getattr(value, "tensor", None)  # mmdet's box types
    if tensor is not None and hasattr(tensor, "element_size"):
        return tensor.numel() * tensor.element_size()
    return 0


@TRANSFORMS.register_module()
class CachedTransforms(BaseTransform):
    """Apply deterministic transforms once per image, then serve their output from memory.

    On a small data set the same images come back every few iterations, and decoding
    them, building one full-size mask per object and resizing them all is done anew
    each time: with a hundred objects an image that is most of the data worker's time.
    This wrapper runs ``transforms`` the first time it sees an image (by
    ``results[key]``) and keeps a copy of the output; later calls return a deep copy
    of it, so the random transforms placed after the wrapper (flips, crops) work on
    fresh arrays every time and the cached output is never changed.

    Only transforms without randomness may be wrapped (loading, a fixed ``Resize``):
    a transform class with a ``@cache_randomness`` method (mmcv's marker of random
    transforms, e.g. ``RandomFlip``, ``RandomResize``, ``RandomCrop``) is refused.

    The cache lives in the process that runs the pipeline: each DataLoader worker has
    its own, so it pays off with ``persistent_workers=True`` (or ``num_workers=0``);
    restarted workers start empty. Once the cached arrays reach ``max_bytes`` the
    further images are transformed every time, not cached.

    Args:
        transforms (list[dict | callable]): The deterministic transforms to run once.
        max_bytes (int): Memory cap of one process's cache in bytes (arrays of images,
            masks and boxes). Defaults to 4 GiB.
        key (str): Result key that names an image. Defaults to ``'img_path'``.
    """

    def __init__(
        self,
        transforms: Sequence[Union[dict, Any]],
        max_bytes: int = DEFAULT_MAX_BYTES,
        key: str = "img_path",
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"CachedTransforms: max_bytes must be >= 0, got {max_bytes}.")
        # Built through mmdet's registry whatever the default scope: mmcv's own Resize, for
        # one, would leave the masks as they are.
        self.transforms = Compose(
            [TRANSFORMS.build(step) if isinstance(step, dict) else step for step in transforms]
        )
        for transform in self.transforms.transforms:
            if getattr(type(transform), "_methods_with_randomness", None):
                name = type(transform).__name__
                raise ValueError(
                    f"CachedTransforms: {name} draws random numbers, so its output cannot be "
                    f"cached; place {name} after the CachedTransforms step of the pipeline."
                )
        self.max_bytes = max_bytes
        self.key = key
        self._cache: Dict[Any, dict] = {}
        self.cached_bytes = 0

    def transform(self, results: dict) -> Optional[dict]:
        """Return the wrapped transforms' output for this image, from memory when cached.

        Args:
            results (dict): A sample's result dict holding ``key``.

        Returns:
            dict | None: The transformed results (a deep copy of the cached ones after
            the first call), or None where a wrapped transform dropped the sample.

        Raises:
            KeyError: If ``results`` lacks ``key``.
        """
        if self.key not in results:
            raise KeyError(
                f"CachedTransforms: the sample has no {self.key!r} to name its image by; "
                f"set key= to one of {sorted(results)}."
            )
        name = results[self.key]
        cached = self._cache.get(name)
        if cached is None:
            output = self.transforms(results)
            if output is None:
                return None
            size = result_nbytes(output)
            if self.cached_bytes + size > self.max_bytes:
                return output
            self._cache[name] = copy.deepcopy(output)
            self.cached_bytes += size
            return output
        return copy.deepcopy(cached)

    def __repr__(self) -> str:
        steps: List[str] = [repr(transform) for transform in self.transforms.transforms]
        return (
            f"{type(self).__name__}(transforms=[{', '.join(steps)}], "
            f"max_bytes={self.max_bytes}, key={self.key!r}, cached={len(self._cache)})"
        )
