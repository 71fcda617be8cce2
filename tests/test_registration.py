"""``import solov2_plugin`` registers every module of ours into mmdet's registries."""

import subprocess
import sys
import textwrap

import pytest
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS, TASK_UTILS, TRANSFORMS
from mmengine.registry import OPTIM_WRAPPERS

import solov2_plugin

OUR_NAMES = {
    "DATASETS": ["SeedInstanceDataset"],
    "METRICS": ["CrowdedCocoMetric"],
    "TRANSFORMS": ["LoadSeedInstanceMasks", "LoadSeedImage", "CachedTransforms"],
    "MODELS": [
        "SOLOv2Segmentor",
        "SOLOv2DynamicHead",
        "SOLOv2MaskFeatBranch",
        "SOLOv2FocalLoss",
        "SOLOv2DiceLoss",
        "ChannelLayerNorm",
    ],
    "TASK_UTILS": ["SOLOv2CenterRegionAssigner", "SOLOv2MaskExtentAssigner"],
    "HOOKS": [
        "AtomicCheckpointHook",
        "ClassCountCheckHook",
        "GTPredOverlayHook",
        "IterationDurationHook",
        "PortableCheckpointHook",
        "RandomStateCheckpointHook",
        "RecordBatchImagesHook",
        "WallTimeBudgetHook",
    ],
    "OPTIM_WRAPPERS": [
        "BF16OptimWrapper",
        "NonFiniteLossOptimWrapper",
        "NonFiniteLossAmpOptimWrapper",
        "NonFiniteLossBF16OptimWrapper",
    ],
}
REGISTRIES = {
    "DATASETS": DATASETS,
    "TRANSFORMS": TRANSFORMS,
    "MODELS": MODELS,
    "TASK_UTILS": TASK_UTILS,
    "HOOKS": HOOKS,
    "OPTIM_WRAPPERS": OPTIM_WRAPPERS,
    "METRICS": METRICS,
}
# mmdet's own SOLOv2 parts: ours must not replace them.
MMDET_NAMES = ["SOLOv2", "SOLOV2Head", "DiceLoss", "FocalLoss"]


@pytest.mark.parametrize(
    "registry_name, name", [(r, n) for r, names in OUR_NAMES.items() for n in names]
)
def test_our_name_resolves_to_our_module(registry_name, name):
    module = REGISTRIES[registry_name].get(name)
    assert module is not None, f"{name} is not registered in mmdet's {registry_name}"
    assert module.__module__.startswith("solov2_plugin."), module.__module__


@pytest.mark.parametrize("name", MMDET_NAMES)
def test_mmdet_names_still_resolve_to_mmdet(name):
    assert MODELS.get(name).__module__.startswith("mmdet.")


@pytest.mark.parametrize("registry_name", list(OUR_NAMES))
def test_our_names_shadow_no_mmengine_name(registry_name):
    """mmdet's registries look a name up before their mmengine parent's: ours must be new."""
    parent = REGISTRIES[registry_name].parent
    if parent is None:
        return
    shadowing = [name for name in OUR_NAMES[registry_name] if name in parent.module_dict]
    assert not shadowing, f"{registry_name}: {shadowing} would replace mmengine's"


def test_every_registered_module_of_ours_is_listed():
    """A new registered class must be added to OUR_NAMES (and to the README's table)."""
    for registry_name, registry in REGISTRIES.items():
        ours = {
            name
            for name, cls in registry.module_dict.items()
            if cls.__module__.startswith("solov2_plugin.")
        }
        assert ours == set(OUR_NAMES[registry_name]), registry_name


def test_custom_imports_registers_in_a_fresh_interpreter(tmp_path):
    """Any mmdet config can pull the plugin in through ``custom_imports``."""
    config = tmp_path / "uses_plugin.py"
    config.write_text(
        "custom_imports = dict(imports=['solov2_plugin'], allow_failed_imports=False)\n"
    )
    script = textwrap.dedent(
        f"""
        from mmengine.config import Config
        from mmdet.registry import MODELS
        assert MODELS.get('SOLOv2DynamicHead') is None
        Config.fromfile({str(config)!r})
        assert MODELS.get('SOLOv2DynamicHead') is not None
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)


def test_version_is_exposed():
    assert solov2_plugin.__version__.count(".") == 2
