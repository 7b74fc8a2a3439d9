"""diffusers' calling conventions for results: ``out[0]`` and ``return_dict=False`` tuples.

diffusers returns a dataclass from a scheduler's ``step``, a model and a pipeline, and every one
of them also takes ``return_dict=False`` to return the same fields as a plain tuple, the form
its own pipelines and tests use (``scheduler.step(..., return_dict=False)[0]``,
``pipe(...)[0]``). gandiff's results are plain dataclasses with named fields; `Output` adds the
two tuple views, so code written for diffusers runs unchanged. Integer indexing only: there is
no ``out["images"]`` and no attribute fallback; a field is read by its name.

Floor 0 of the module map: models, schedulers and pipelines share it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Output", "ModelOutput", "model_output"]


class Output:
    """Base of gandiff's result dataclasses: the fields, in order, as a tuple.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Pair(Output):
        ...     first: int
        ...     second: int
        >>> Pair(1, 2).to_tuple(), Pair(1, 2)[0]
        ((1, 2), 1)
    """

    def to_tuple(self) -> tuple[Any, ...]:
        """The fields in their declared order: what diffusers returns with ``return_dict=False``.

        Returns:
            A tuple of the field values.
        """
        return tuple(getattr(self, field.name) for field in dataclasses.fields(self))

    def __getitem__(self, index: int | slice) -> Any:
        """``out[i]`` is ``out.to_tuple()[i]``, as in diffusers (``pipe(...)[0]`` are the images)."""
        if not isinstance(index, (int, slice)):
            raise TypeError(
                f"{type(self).__name__} is indexed by position (out[0]); read a field by its name, "
                f"e.g. out.{dataclasses.fields(self)[0].name}"
            )
        return self.to_tuple()[index]


@dataclasses.dataclass
class ModelOutput(Output):
    """A model's output as diffusers' ``UNet2DOutput`` holds it, for ``model(..., return_dict=True)``.

    Attributes:
        sample: the tensor the model returns by default (the U-Net's prediction, a generator's
            samples, a discriminator's scores); diffusers calls it ``sample``.
    """

    sample: Any


def model_output(output: Any, return_dict: bool | None) -> Any:
    """What a model's ``forward`` returns for `return_dict`.

    Args:
        output: the model's tensor.
        return_dict: ``None`` (the default of every gandiff model): the tensor itself, gandiff's
            contract; ``True``: `ModelOutput` with ``.sample``, as diffusers' default;
            ``False``: the tuple ``(output,)``, as diffusers' ``return_dict=False``.

    Returns:
        `output`, ``ModelOutput(sample=output)`` or ``(output,)``.
    """
    if return_dict is None:
        return output
    if not isinstance(return_dict, bool):
        raise TypeError(f"return_dict must be True, False or None, got {return_dict!r}")
    return ModelOutput(sample=output) if return_dict else (output,)
