"""``ModelTesterMixin`` and ``TrainingTesterMixin``: the bodies diffusers runs over every model,
ported for gandiff (only the tests that concern features gandiff claims).

Origin: huggingface/diffusers, ``tests/models/testing_utils/common.py`` and
``tests/models/testing_utils/training.py`` at commit 58eb52c0803ea9af3abec60841c2a093bdf1f951 (the
same text as the v0.40.0 release; diffusers 0.42.1, installed here as the reference, ships no
tests). Originally Copyright 2026 HuggingFace Inc., Apache License 2.0
(http://www.apache.org/licenses/LICENSE-2.0); modified as listed below. ``test_models_unet_2d.py``
runs these tests and reports their counts.

Changes:

* diffusers' helpers -> ``_testing.py``'s; ``torch_device`` is ``"cpu"``.
* ``test_from_save_pretrained_dtype``: ``from_pretrained(..., low_cpu_mem_usage=True, ...)`` ->
  without ``low_cpu_mem_usage`` (an accelerate loading strategy of diffusers; gandiff loads one way).
* ``TrainingTesterMixin``: diffusers runs it only on an accelerator
  (``@require_torch_accelerator_with_training``); nothing in ``test_training`` needs one, so it
  runs here on CPU. ``test_training_with_ema``: diffusers' ``EMAModel`` -> gandiff's
  ``gandiff.training.ema.make_ema`` (torch's ``AveragedModel``), stepped once the same way.
* Deliberate differences, marked in the test and asserting gandiff's behaviour:
  ``test_getattr_is_correct`` (diffusers reads a config key as ``model.key`` with a FutureWarning,
  after ``register_to_config``; gandiff has one way to read a setting, ``model.config.key``, and no
  ``register_to_config``); ``test_outputs_equivalence`` (diffusers' ``model(...)`` returns an output
  with ``.sample``; gandiff's returns the tensor, and ``return_dict=True`` the output with
  ``.sample``, whose dataclass fields are compared through ``vars(...)``; the test also checks
  that the default tensor equals ``.sample``).

Left out, with why:

* ``test_from_save_pretrained_variant``, ``test_sharded_checkpoints_with_parallel_loading``:
  weight variants and sharded checkpoints are diffusers features gandiff does not claim.
* ``test_from_pretrained_dtype_alias``: the ``dtype=`` alias of ``torch_dtype=``; gandiff's
  ``from_pretrained`` takes ``torch_dtype`` (DESIGN.md, "Models").
* ``test_keep_in_fp32_modules``, ``test_keep_in_fp32_modules_as_str``,
  ``test_keep_in_fp32_modules_layerwise_casting``, ``test_to_keep_in_fp32_modules_warns``:
  ``_keep_in_fp32_modules`` and layerwise casting are not gandiff features (diffusers skips all
  four for UNet2DModel, which keeps no module in fp32).
* Accelerator-only: ``test_from_save_pretrained_dtype_inference`` (fp16/bf16 inference),
  ``test_sharded_checkpoints``, ``test_sharded_checkpoints_with_variant``,
  ``test_model_parallelism`` (several GPUs).
* ``TrainingTesterMixin``: ``test_gradient_checkpointing``, ``test_gradient_checkpointing_is_applied``,
  ``test_gradient_checkpointing_equivalence`` (gandiff's U-Net has no gradient checkpointing);
  ``test_mixed_precision_training`` (its two parts run only on an accelerator: on CPU it does nothing).
* ``MemoryTesterMixin`` (``tests/models/testing_utils/memory.py``): CPU/disk/group offloading and
  layerwise casting, accelerator-only and not gandiff features.
"""

from __future__ import annotations

import pytest
import torch

from ._testing import assert_tensors_close, torch_device


class BaseModelTesterConfig:
    """The configuration interface of model testing: ``model_class``, ``get_init_dict()``,
    ``get_dummy_inputs()`` (deterministic), ``output_shape``."""

    @property
    def model_class(self):
        raise NotImplementedError("Subclasses must implement the `model_class` property.")

    @property
    def output_shape(self):
        return None

    def get_init_dict(self):
        raise NotImplementedError("Subclasses must implement `get_init_dict()`.")

    def get_dummy_inputs(self):
        raise NotImplementedError("Subclasses must implement `get_dummy_inputs()`.")


class BaseModelOutputMixin:
    @pytest.fixture(scope="class")
    def base_model_output(self):
        """Class-scoped reference forward output, built once and reused across the class."""
        torch.manual_seed(0)
        model = self.model_class(**self.get_init_dict()).eval().to(torch_device)
        with torch.no_grad():
            return model(**self.get_dummy_inputs(), return_dict=False)[0]


class ModelTesterMixin(BaseModelOutputMixin):
    @torch.no_grad()
    def test_from_save_pretrained(self, base_model_output, tmp_path, atol=5e-5, rtol=5e-5):
        torch.manual_seed(0)
        model = self.model_class(**self.get_init_dict())
        model.to(torch_device)
        model.eval()

        model.save_pretrained(tmp_path)
        new_model = self.model_class.from_pretrained(tmp_path)
        new_model.to(torch_device)

        for param_name in model.state_dict().keys():
            param_1 = model.state_dict()[param_name]
            param_2 = new_model.state_dict()[param_name]
            assert param_1.shape == param_2.shape, (
                f"Parameter shape mismatch for {param_name}. Original: {param_1.shape}, loaded: {param_2.shape}"
            )

        new_image = new_model(**self.get_dummy_inputs(), return_dict=False)[0]

        assert_tensors_close(
            base_model_output, new_image, atol=atol, rtol=rtol, msg="Models give different forward passes."
        )

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["fp32", "fp16", "bf16"])
    def test_from_save_pretrained_dtype(self, tmp_path, dtype):
        model = self.model_class(**self.get_init_dict())
        model.to(torch_device)
        model.eval()

        model.to(dtype)
        model.save_pretrained(tmp_path)
        # Changed: without low_cpu_mem_usage=True (see the header).
        new_model = self.model_class.from_pretrained(tmp_path, torch_dtype=dtype)
        assert new_model.dtype == dtype
        if hasattr(self.model_class, "_keep_in_fp32_modules") and self.model_class._keep_in_fp32_modules is None:
            # When loading without accelerate dtype == torch.float32 if _keep_in_fp32_modules is not None
            new_model = self.model_class.from_pretrained(tmp_path, torch_dtype=dtype)
            assert new_model.dtype == dtype

    @torch.no_grad()
    def test_determinism(self, atol=1e-5, rtol=0):
        model = self.model_class(**self.get_init_dict())
        model.to(torch_device)
        model.eval()

        first = model(**self.get_dummy_inputs(), return_dict=False)[0]
        second = model(**self.get_dummy_inputs(), return_dict=False)[0]

        first_flat = first.flatten()
        second_flat = second.flatten()
        mask = ~(torch.isnan(first_flat) | torch.isnan(second_flat))
        first_filtered = first_flat[mask]
        second_filtered = second_flat[mask]

        assert_tensors_close(
            first_filtered, second_filtered, atol=atol, rtol=rtol, msg="Model outputs are not deterministic"
        )

    @torch.no_grad()
    def test_output(self, base_model_output, expected_output_shape=None):
        output = base_model_output

        assert output is not None, "Model output is None"
        assert output[0].shape == expected_output_shape or self.output_shape, (
            f"Output shape does not match expected. Expected {expected_output_shape}, got {output.shape}"
        )

    @torch.no_grad()
    def test_outputs_equivalence(self, atol=1e-5, rtol=0):
        def set_nan_tensor_to_zero(t):
            t[t != t] = 0
            return t

        def recursive_check(tuple_object, dict_object):
            if isinstance(tuple_object, (list, tuple)):
                for tuple_iterable_value, dict_iterable_value in zip(tuple_object, dict_object.values()):
                    recursive_check(tuple_iterable_value, dict_iterable_value)
            elif isinstance(tuple_object, dict):
                for tuple_iterable_value, dict_iterable_value in zip(tuple_object.values(), dict_object.values()):
                    recursive_check(tuple_iterable_value, dict_iterable_value)
            elif tuple_object is None:
                return
            else:
                assert_tensors_close(
                    set_nan_tensor_to_zero(tuple_object),
                    set_nan_tensor_to_zero(dict_object),
                    atol=atol,
                    rtol=rtol,
                    msg="Tuple and dict output are not equal",
                )

        model = self.model_class(**self.get_init_dict())
        model.to(torch_device)
        model.eval()

        # Deliberate difference: a gandiff model called without return_dict returns the tensor
        # (DESIGN.md, "Models"); return_dict=True gives diffusers' default, an output with .sample,
        # a dataclass whose fields are compared through vars(...).
        outputs_default = model(**self.get_dummy_inputs())
        assert isinstance(outputs_default, torch.Tensor)
        outputs_dict = model(**self.get_dummy_inputs(), return_dict=True)
        outputs_tuple = model(**self.get_dummy_inputs(), return_dict=False)

        recursive_check(outputs_tuple, vars(outputs_dict))
        recursive_check((outputs_default,), vars(outputs_dict))

    def test_getattr_is_correct(self):
        # Deliberate difference: diffusers reads a config key as `model.key` (with a FutureWarning)
        # after register_to_config. gandiff has one way to read a setting, `model.config.key`
        # (DESIGN.md, "Config"); plain attributes behave as in diffusers.
        init_dict = self.get_init_dict()
        model = self.model_class(**init_dict)

        # save some things to test
        model.dummy_attribute = 5

        assert hasattr(model, "dummy_attribute")
        assert getattr(model, "dummy_attribute") == 5
        assert model.dummy_attribute == 5

        assert hasattr(model, "save_pretrained")
        fn = model.save_pretrained
        fn_1 = getattr(model, "save_pretrained")

        assert fn == fn_1

        # gandiff: a config key is read through .config only.
        assert model.config.in_channels == init_dict["in_channels"]
        with pytest.raises(AttributeError):
            model.layers_per_block

        with pytest.raises(AttributeError) as error:
            model.does_not_exist

        assert str(error.value) == f"'{type(model).__name__}' object has no attribute 'does_not_exist'"


class TrainingTesterMixin:
    def test_training(self):
        init_dict = self.get_init_dict()
        inputs_dict = self.get_dummy_inputs()

        model = self.model_class(**init_dict)
        model.to(torch_device)
        model.train()
        output = model(**inputs_dict, return_dict=False)[0]

        noise = torch.randn((output.shape[0],) + self.output_shape).to(torch_device)
        loss = torch.nn.functional.mse_loss(output, noise)
        loss.backward()

    def test_training_with_ema(self):
        from gandiff.training.ema import make_ema

        init_dict = self.get_init_dict()
        inputs_dict = self.get_dummy_inputs()

        model = self.model_class(**init_dict)
        model.to(torch_device)
        model.train()
        # Changed: diffusers' EMAModel(model.parameters()) -> gandiff's make_ema (decay 0.9999, EMAModel's default).
        ema_model = make_ema(model, 0.9999)

        output = model(**inputs_dict, return_dict=False)[0]

        noise = torch.randn((output.shape[0],) + self.output_shape).to(torch_device)
        loss = torch.nn.functional.mse_loss(output, noise)
        loss.backward()
        ema_model.update_parameters(model)
