"""LoadSeedImage: 16-bit and greyscale images load faithfully; 8-bit ones as LoadImageFromFile."""

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmdet.utils import register_all_modules
from PIL import Image
from seed_samples import CLASSES, write_sample

from solov2_plugin.datasets import LoadSeedImage, SeedFormatError, SeedInstanceDataset


@pytest.fixture(autouse=True)
def mmdet_scope():
    register_all_modules(init_default_scope=True)


def load(transform, path):
    return transform(dict(img_path=str(path)))


def test_16_bit_greyscale_keeps_its_contrast(tmp_path):
    root = tmp_path / "split"
    write_sample(root, "a", (3, 7))
    values = np.zeros((64, 96), np.uint16)
    values[:, 32:64], values[:, 64:] = 864, 1728
    path = root / "images" / "a.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    dataset = SeedInstanceDataset(
        data_root=str(root),
        metainfo=dict(classes=CLASSES),
        pipeline=[dict(type="LoadSeedImage"), dict(type="LoadSeedInstanceMasks")],
    )
    results = dataset[0]
    image = results["img"]
    assert image.shape == (64, 96, 3) and image.dtype == np.uint8
    assert results["img_shape"] == results["ori_shape"] == (64, 96)
    assert np.unique(image).tolist() == [0, 128, 255]  # floor(v * 255 / 1728 + 0.5)
    assert (image[:, :, 0] == image[:, :, 2]).all() and image[0, 64].tolist() == [255] * 3
    assert len(results["gt_masks"]) == 2
    # The trap it avoids: LoadImageFromFile keeps the high byte, 1728 >> 8 == 6.
    assert np.unique(load(LoadImageFromFile(), path)["img"]).tolist() == [0, 3, 6]
    fixed = load(LoadSeedImage(max_value=65535), path)["img"]
    assert np.unique(fixed).tolist() == [0, 3, 7]  # floor(v * 255 / 65535 + 0.5)


@pytest.mark.parametrize(
    "mode, ext",
    [("RGB", ".png"), ("RGB", ".jpg"), ("RGBA", ".png"), ("L", ".png"), ("L", ".jpg")],
)
def test_8_bit_images_load_exactly_as_load_image_from_file(tmp_path, mode, ext):
    rng = np.random.default_rng(0)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    array = rng.integers(0, 256, (20, 30, channels), dtype=np.uint8)
    path = tmp_path / f"x{ext}"
    Image.fromarray(array.squeeze(-1) if channels == 1 else array, mode).save(path)
    ours = load(LoadSeedImage(), path)["img"]
    assert np.array_equal(ours, load(LoadImageFromFile(), path)["img"])
    assert ours.shape == (20, 30, 3) and ours.dtype == np.uint8
    if ext == ".png":  # lossless: the pixels themselves, as BGR without alpha
        expected = np.repeat(array, 3, axis=2) if channels == 1 else array[..., 2::-1]
        assert np.array_equal(ours, expected)


def test_float32_option_and_errors(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(np.full((4, 5), 9, np.uint8)).save(path)
    image = load(LoadSeedImage(to_float32=True), path)["img"]
    assert image.dtype == np.float32 and image.max() == 9.0
    path.write_bytes(b"broken")
    with pytest.raises(SeedFormatError, match="cannot be decoded") as info:
        load(LoadSeedImage(), path)
    assert str(info.value).startswith(str(path))
    with pytest.raises(SeedFormatError, match="does not exist"):
        load(LoadSeedImage(), tmp_path / "gone.png")
    with pytest.raises(ValueError, match="max_value must lie in 1..65535"):
        LoadSeedImage(max_value=70000)
