"""Runtime support: safe, atomic and exactly resumable checkpoints, our hooks, torchrun on CPUs."""

from .atomic_backend import ATOMIC_BACKEND, AtomicLocalBackend, atomic_write
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .bf16_optim_wrapper import BF16OptimWrapper, cpu_has_native_bf16
from .checkpoint import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    enable_safe_checkpoints,
    load_from_local_safely,
)
from .class_count_hook import ClassCountCheckHook
from .cpu_distributed import join_cpu_process_group
from .gt_pred_overlay_hook import GTPredOverlayHook
from .nonfinite_loss import (
    NonFiniteLossAmpOptimWrapper,
    NonFiniteLossBF16OptimWrapper,
    NonFiniteLossOptimWrapper,
    RecordBatchImagesHook,
)
from .portable_state import from_portable, to_portable
from .portable_state_hook import PortableCheckpointHook
from .resume import NoLoadableCheckpointError, find_resume_checkpoint
from .rng_state import capture_rng_state, restore_rng_state
from .rng_state_hook import RandomStateCheckpointHook

enable_safe_checkpoints()

__all__ = [
    "ATOMIC_BACKEND",
    "AtomicCheckpointHook",
    "AtomicLocalBackend",
    "BF16OptimWrapper",
    "ClassCountCheckHook",
    "CorruptCheckpointError",
    "GTPredOverlayHook",
    "NoLoadableCheckpointError",
    "NonFiniteLossAmpOptimWrapper",
    "NonFiniteLossBF16OptimWrapper",
    "NonFiniteLossOptimWrapper",
    "PortableCheckpointHook",
    "RandomStateCheckpointHook",
    "RecordBatchImagesHook",
    "UnsafeCheckpointError",
    "atomic_write",
    "capture_rng_state",
    "cpu_has_native_bf16",
    "enable_safe_checkpoints",
    "find_resume_checkpoint",
    "from_portable",
    "join_cpu_process_group",
    "load_from_local_safely",
    "restore_rng_state",
    "to_portable",
]
