"""Local equivalents of the few helpers of diffusers' test utilities that the ported tests use
(diffusers 0.42.1 ships no tests; the source is the snapshot of huggingface/diffusers at commit
58eb52c0803ea9af3abec60841c2a093bdf1f951, whose test files equal the v0.40.0 release's):
``torch_device`` and ``assert_tensors_close`` of ``tests/testing_utils.py``, ``to_np`` of
``tests/pipelines/test_pipelines_common.py``.

Originally Copyright 2026 HuggingFace Inc., Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0).

Changes: only what the ported tests call is kept, on CPU and without network:

* ``torch_device`` is always ``"cpu"``: tests that need an accelerator are left out of the port.
* ``enable_full_determinism()`` is not kept: on CPU the flags it sets (cuDNN, cuBLAS, TF32) change
  nothing, and ``torch.use_deterministic_algorithms(True)`` would leak into the rest of the suite.
* ``assert_tensors_close`` keeps diffusers' meaning (``torch.allclose`` with a message).
"""

from __future__ import annotations

import numpy as np
import torch

torch_device = "cpu"


def assert_tensors_close(
    actual: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-5, msg: str = ""
) -> None:
    """Fail with `msg` and the largest difference unless ``allclose(actual, expected, rtol, atol)``."""
    if actual.shape != expected.shape:
        raise AssertionError(f"{msg} Shape mismatch: {tuple(actual.shape)} vs {tuple(expected.shape)}")
    if not torch.allclose(actual, expected, atol=atol, rtol=rtol):
        diff = (actual - expected).abs().max().item()
        raise AssertionError(f"{msg} Max abs difference {diff} (atol={atol}, rtol={rtol})")


def to_np(tensor) -> np.ndarray:
    """A tensor (or array) as a NumPy array (diffusers' ``test_pipelines_common.to_np``)."""
    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().cpu().numpy()
    return tensor
