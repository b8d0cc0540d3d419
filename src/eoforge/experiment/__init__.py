"""Experiments from YAML: configs, data wiring, training, evaluation.

Example:
    >>> from eoforge.experiment import load_config, train, evaluate
    >>> config = load_config("configs/landcover_synthetic.yaml", ["trainer.max_epochs=2"])
    >>> result = train(config)              # writes <output_dir>/bundle
    >>> evaluate(result.bundle, "scenes/unseen")["miou"]
"""

from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.loading import load_config
from eoforge.experiment.train import TrainResult, train

__all__ = ["ExperimentConfig", "TrainResult", "load_config", "train"]
