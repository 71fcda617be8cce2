"""``LoadSeedImage``: images of any common depth and channel count as 8-bit BGR."""

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ..seed_readers import decode_image_bgr, read_bytes


@TRANSFORMS.register_module()
class LoadSeedImage(BaseTransform):
    """Load an image faithfully whatever its depth: 8/16-bit, greyscale, RGB(A).

    A drop-in for mmcv's ``LoadImageFromFile``, which decodes a 16-bit image
    by keeping its high byte (a 12-bit image of values 0..1728 arrives as
    0..6, nearly black). This transform decodes with OpenCV too (EXIF
    orientation applied, greyscale replicated to three channels, alpha
    dropped), so an 8-bit image is bit-for-bit what ``LoadImageFromFile``
    gives, but it scales 16-bit values to 8 bits: ``floor(v * 255 / m + 0.5)``
    with ``m`` the image's own maximum (default) or ``max_value``.

    Required keys: ``img_path``.

    Added keys: ``img`` (``(H, W, 3)`` uint8 BGR, float32 with
    ``to_float32``), ``img_shape`` and ``ori_shape`` (``(H, W)``).

    Args:
        max_value (int, optional): The 16-bit value that becomes 255, the
            same for every image (4095 for 12-bit data, 65535 for the full
            range); None scales each image by its own maximum, which shows
            any image fully but not with the same brightness scale.
        to_float32 (bool): Return a float32 image, as ``LoadImageFromFile``'s
            option. Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(
        self,
        max_value: Optional[int] = None,
        to_float32: bool = False,
        backend_args: Optional[dict] = None,
    ) -> None:
        if max_value is not None and not 0 < int(max_value) <= 65535:
            raise ValueError(
                f"LoadSeedImage: max_value must lie in 1..65535 (the 16-bit value shown as "
                f"255), got {max_value}; leave it None to scale each image by its maximum."
            )
        self.max_value = max_value
        self.to_float32 = to_float32
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Read ``results['img_path']``.

        Args:
            results (dict): Result dict holding ``img_path``.

        Returns:
            dict: ``results`` with ``img``, ``img_shape`` and ``ori_shape``.

        Raises:
            SeedFormatError: If the image is missing, unreadable or holds
                32-bit or float values.
        """
        path = results["img_path"]
        image = decode_image_bgr(read_bytes(path, self.backend_args), path, self.max_value)
        if self.to_float32:
            image = image.astype(np.float32)
        results["img"] = image
        results["img_shape"] = image.shape[:2]
        results["ori_shape"] = image.shape[:2]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_value={self.max_value}, to_float32={self.to_float32}, "
            f"backend_args={self.backend_args})"
        )
