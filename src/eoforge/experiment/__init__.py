"""Experiments from YAML: configs, data wiring, training, evaluation.

Example:
    A config is YAML validated when it is loaded; overrides (``--set`` on the command
    line) apply first, with values parsed as YAML:

    >>> from eoforge.experiment import load_config
    >>> config = load_config("configs/landcover_synthetic.yaml", ["trainer.max_epochs=2"])
    >>> config.trainer.max_epochs, config.trainer.accelerator
    (2, 'auto')

    ``train(config)`` then trains and exports ``<trainer.output_dir>/bundle``, the model
    bundle that :func:`eoforge.predict.run` predicts whole scenes with (see the README).
"""

from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.loading import load_config
from eoforge.experiment.train import TrainResult, train

__all__ = ["ExperimentConfig", "TrainResult", "load_config", "train"]
