"""Local equivalents of the few helpers of diffusers' ``tests/testing_utils.py`` that the ported
tests use (diffusers 0.42.1 ships no tests; the source is the snapshot of huggingface/diffusers at
commit 58eb52c0803ea9af3abec60841c2a093bdf1f951, whose test files equal the v0.40.0 release's).

Originally Copyright 2026 HuggingFace Inc., Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0).

Changes: only what the ported tests call is kept, on CPU and without network:

* ``torch_device`` is always ``"cpu"``: tests that need an accelerator are left out of the port.
* ``enable_full_determinism()`` is not kept: on CPU the flags it sets (cuDNN, cuBLAS, TF32) change
  nothing, and ``torch.use_deterministic_algorithms(True)`` would leak into the rest of the suite.
* ``floats_tensor`` keeps diffusers' formula (uniform in [0, scale) from a ``random.Random``).
* ``assert_tensors_close`` / ``torch_all_close`` keep diffusers' meaning (``torch.allclose``).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

torch_device = "cpu"

_global_rng = random.Random()


def floats_tensor(shape: tuple[int, ...], scale: float = 1.0, rng: random.Random | None = None) -> torch.Tensor:
    """A float32 tensor of `shape` with values uniform in [0, `scale`) (diffusers' helper)."""
    rng = rng or _global_rng
    total = int(np.prod(shape))
    values = [rng.random() * scale for _ in range(total)]
    return torch.tensor(data=values, dtype=torch.float).view(shape).contiguous()


def torch_all_close(a: torch.Tensor, b: torch.Tensor, *args, **kwargs) -> bool:
    """``torch.allclose`` that raises with the largest difference when it fails (diffusers' helper)."""
    if not torch.allclose(a, b, *args, **kwargs):
        raise AssertionError(f"Max diff is absolute {(a - b).abs().max()}. Diff tensor is {(a - b).abs()}.")
    return True


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


def pending(convention: str):
    """Mark a test that fails only because gandiff lacks diffusers' `convention` yet (issue 15).

    Strict, so the test fails the suite as soon as the convention lands and the mark must go.
    """
    return pytest.mark.xfail(strict=True, reason=f"needs {convention}, issue 15")
