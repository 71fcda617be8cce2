"""merge_cfg_options: top-level data_root and classes reach what derives from them."""

import pytest
from mmengine.config import Config

from solov2_plugin.apis import config_path, merge_cfg_options


def _demo_cfg() -> Config:
    return Config.fromfile(config_path("solov2_demo.py"))


def test_plain_merge_of_the_top_level_variables_changes_nothing_derived():
    # What mmengine alone does: the reason merge_cfg_options exists.
    cfg = _demo_cfg()
    cfg.merge_from_dict({"data_root": "elsewhere/", "classes": ["a", "b"]})
    assert cfg.train_dataloader.dataset.data_root == "data/demo/train"
    assert cfg.model.mask_head.num_classes == 5


def test_data_root_reaches_every_split():
    cfg = merge_cfg_options(_demo_cfg(), {"data_root": "my_data/"})
    assert cfg.data_root == "my_data/"
    assert cfg.train_dataloader.dataset.data_root == "my_data/train"
    assert cfg.val_dataloader.dataset.data_root == "my_data/val"
    assert cfg.test_dataloader.dataset.data_root == "my_data/val"


def test_a_root_below_the_old_one_is_not_applied_twice():
    cfg = merge_cfg_options(_demo_cfg(), {"data_root": "data/demo/sub/"})
    assert cfg.data_root == "data/demo/sub/"
    assert cfg.train_dataloader.dataset.data_root == "data/demo/sub/train"


def test_classes_reach_the_datasets_and_the_head():
    cfg = merge_cfg_options(_demo_cfg(), {"classes": ["particle", "bubble"]})
    assert cfg.classes == ("particle", "bubble")
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert tuple(cfg[loader].dataset.metainfo.classes) == ("particle", "bubble")
    assert cfg.model.mask_head.num_classes == 2


def test_one_class_given_as_a_plain_string():
    cfg = merge_cfg_options(_demo_cfg(), {"classes": "particle"})
    assert cfg.classes == ("particle",)
    assert cfg.model.mask_head.num_classes == 1


def test_an_explicit_num_classes_wins():
    options = {"classes": ["a", "b"], "model.mask_head.num_classes": 7}
    cfg = merge_cfg_options(_demo_cfg(), options)
    assert cfg.model.mask_head.num_classes == 7
    assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == ("a", "b")


def test_other_options_merge_as_usual():
    cfg = merge_cfg_options(_demo_cfg(), {"train_cfg.max_epochs": 3})
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.train_dataloader.dataset.data_root == "data/demo/train"
    assert merge_cfg_options(cfg, None) is cfg


@pytest.mark.parametrize("bad", [[], ["a", 3]])
def test_bad_classes_are_refused(bad):
    with pytest.raises(ValueError, match="class names"):
        merge_cfg_options(_demo_cfg(), {"classes": bad})
