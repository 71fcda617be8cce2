"""When RandomStateCheckpointHook warns about persistent DataLoader workers."""

from types import SimpleNamespace

import pytest
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from solov2_plugin.engine.rng_state_hook import RandomStateCheckpointHook


class _Logger:
    def __init__(self) -> None:
        self.warnings = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def _runner(loop_type: type, persistent: bool, num_workers: int = 1) -> SimpleNamespace:
    loader = SimpleNamespace(persistent_workers=persistent, num_workers=num_workers)
    # The hook only checks the loop's type; building a real loop needs a whole runner.
    loop = object.__new__(loop_type)
    return SimpleNamespace(train_loop=loop, train_dataloader=loader, logger=_Logger())


@pytest.mark.parametrize(
    "loop_type, persistent, num_workers, warned",
    [
        (EpochBasedTrainLoop, True, 1, True),
        (EpochBasedTrainLoop, False, 1, False),
        (EpochBasedTrainLoop, True, 0, False),
        # An iteration-based resume replays batches and is not exact anyway.
        (IterBasedTrainLoop, True, 1, False),
    ],
)
def test_warns_only_where_persistent_workers_cost_an_exact_resume(
    loop_type, persistent, num_workers, warned
):
    runner = _runner(loop_type, persistent, num_workers)
    RandomStateCheckpointHook().before_train(runner)
    assert len(runner.logger.warnings) == int(warned)
    if warned:
        assert "persistent_workers=False" in runner.logger.warnings[0]
