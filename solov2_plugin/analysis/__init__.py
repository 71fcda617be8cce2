"""Dataset analysis: object sizes and the model settings they suggest.

:func:`analyze_split` measures a seed-format split, :func:`suggest_settings`
derives ``input_size``, ``scale_ranges`` and ``num_grids`` from it (the rule is
in :mod:`.level_settings`), and :func:`.size_histogram.draw_size_histogram` pictures the sizes
with the suggested levels. ``tools/analyze_dataset.py`` runs the three.
"""

from .config_overrides import cfg_options_line, config_text, pipeline_scale_keys
from .dataset_stats import DatasetStats, analyze_split, stats_from_objects
from .level_settings import InputSizeChoice, SuggestedSettings, suggest_settings

__all__ = [
    "DatasetStats",
    "InputSizeChoice",
    "SuggestedSettings",
    "analyze_split",
    "cfg_options_line",
    "config_text",
    "pipeline_scale_keys",
    "stats_from_objects",
    "suggest_settings",
]
