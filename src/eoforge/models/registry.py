"""Registry of architectures: names, the tasks they serve, their factories.

Architectures register themselves with :func:`register_model`; the builder
looks them up by the ``arch`` of a :class:`~eoforge.models.spec.ModelSpec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import nn

from eoforge.errors import ConfigError, available_list
from eoforge.models.spec import ModelSpec, Task

ModelFactory = Callable[[ModelSpec], nn.Module]
ListedTask = Task | Literal["location"]
"""A task an architecture serves: the spec tasks, and ``location`` (trained by its own task)."""


@dataclass(frozen=True)
class ModelInfo:
    """What ``eoforge models`` prints about one architecture.

    Attributes:
        name: Registry name, the ``arch`` of a model spec.
        tasks: Tasks the architecture can be built for.
        description: One line saying what it is.
    """

    name: str
    tasks: tuple[ListedTask, ...]
    description: str


_FACTORIES: dict[str, tuple[ModelInfo, ModelFactory]] = {}


def register_model(
    name: str, tasks: tuple[ListedTask, ...], description: str
) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator registering ``factory(spec) -> nn.Module`` under ``name``.

    Args:
        name: Architecture name used as ``ModelSpec.arch``.
        tasks: Tasks the factory supports.
        description: One-line description for listings.

    Returns:
        The decorator; it returns the factory unchanged.

    Raises:
        ConfigError: When ``name`` is already registered.
    """

    def decorate(factory: ModelFactory) -> ModelFactory:
        if name in _FACTORIES:
            raise ConfigError(
                f"architecture {name!r} is registered twice.",
                fix="give the new architecture another name.",
            )
        _FACTORIES[name] = (ModelInfo(name, tasks, description), factory)
        return factory

    return decorate


def list_models() -> list[ModelInfo]:
    """All registered architectures, sorted by name."""
    return [info for _, (info, _) in sorted(_FACTORIES.items())]


def get_factory(spec: ModelSpec) -> ModelFactory:
    """Factory for ``spec.arch``, checked against ``spec.task``.

    Raises:
        ConfigError: Unknown architecture (the message lists the registered
            ones) or an architecture that does not serve ``spec.task``.
    """
    if spec.arch not in _FACTORIES:
        raise ConfigError(
            f"model.arch: unknown architecture {spec.arch!r}. "
            f"Available: {available_list(_FACTORIES)}.",
            fix="use one of the listed names (`eoforge models` prints them with their tasks).",
        )
    info, factory = _FACTORIES[spec.arch]
    if spec.task not in info.tasks:
        raise ConfigError(
            f"model.arch: {spec.arch!r} does not serve task {spec.task!r}; "
            f"it serves {', '.join(info.tasks)}.",
            fix=f"pick an architecture for {spec.task!r} from `eoforge models`.",
        )
    return factory
