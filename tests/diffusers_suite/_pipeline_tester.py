"""``PipelineTesterMixin``: the body diffusers runs over every pipeline, ported for gandiff (only
the tests that apply to an unconditional image pipeline and concern features gandiff claims).

Origin: huggingface/diffusers, ``tests/pipelines/test_pipelines_common.py`` (class
``PipelineTesterMixin``) and ``tests/pipelines/pipeline_params.py`` at commit
58eb52c0803ea9af3abec60841c2a093bdf1f951 (the same text as the v0.40.0 release; diffusers 0.42.1,
installed here as the reference, ships no tests). Originally Copyright 2026 HuggingFace Inc.,
Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0); modified as listed below.
``test_ddim.py`` runs these tests and reports their counts.

Changes:

* diffusers' helpers -> ``_testing.py``'s; ``torch_device`` is ``"cpu"``; the GPU cache clearing
  of ``setUp``/``tearDown`` and the ``DeprecatedPipelineMixin`` skip are dropped.
* ``test_save_load_local``: ``save_pretrained(tmpdir, safe_serialization=False)`` -> without the
  option (gandiff always writes safetensors); the check that diffusers' INFO log names every
  loaded component (a diffusers log line, not a behaviour gandiff claims) is dropped.
* The ``set_default_attn_processor`` and ``text_encoder`` ``.eval()`` lines (no such components or
  methods here) and the prompt branches of the batch tests (no prompt) are dropped.

Left out, with why (for an unconditional image pipeline in diffusers these return at once or skip):

* Vacuous for this pipeline in diffusers too (they ``return`` before checking anything):
  ``test_save_load_optional_components`` (no optional components), ``test_num_images_per_prompt``,
  ``test_cfg``, ``test_callback_inputs``, ``test_callback_cfg``,
  ``test_encode_prompt_works_in_isolation``, ``test_StableDiffusionMixin_component``,
  ``test_layerwise_casting_inference`` (``test_layerwise_casting = False``).
* Accelerator only: ``test_to_device``, ``test_float16_inference``, ``test_save_load_float16``,
  the four CPU-offload tests, ``test_xformers_attention_forwardGenerator_pass``,
  ``test_group_offloading_inference``, ``test_dtype_dict``, and the two pipeline-level group
  offloading tests.
* Features gandiff does not claim: ``test_attention_slicing_forward_pass`` (attention slicing),
  ``test_serialization_with_variants``, ``test_loading_with_variants``,
  ``test_loading_with_incorrect_variants_raises_error`` (weight variants), ``test_dtype_alias``
  (``dtype=`` alias of ``torch_dtype=``), ``test_pipeline_with_accelerator_device_map`` (``device_map``).
"""

from __future__ import annotations

import inspect
import tempfile

import numpy as np
import torch

from ._testing import to_np, torch_device

# tests/pipelines/pipeline_params.py
UNCONDITIONAL_IMAGE_GENERATION_PARAMS = frozenset(["batch_size"])
UNCONDITIONAL_IMAGE_GENERATION_BATCH_PARAMS = frozenset([])


class PipelineTesterMixin:
    """Common tests of a pipeline; the test class sets ``pipeline_class``, ``params``,
    ``batch_params`` and implements ``get_dummy_components`` and ``get_dummy_inputs``."""

    # Canonical parameters that are passed to `__call__` regardless
    # of the type of pipeline. They are always optional and have common
    # sense default values.
    required_optional_params = frozenset(
        [
            "num_inference_steps",
            "num_images_per_prompt",
            "generator",
            "latents",
            "output_type",
            "return_dict",
        ]
    )

    def get_generator(self, seed):
        device = torch_device if torch_device != "mps" else "cpu"
        generator = torch.Generator(device).manual_seed(seed)
        return generator

    def test_save_load_local(self, expected_max_difference=5e-4):
        components = self.get_dummy_components()
        pipe = self.pipeline_class(**components)

        pipe.to(torch_device)
        pipe.set_progress_bar_config(disable=None)

        inputs = self.get_dummy_inputs(torch_device)
        output = pipe(**inputs)[0]

        with tempfile.TemporaryDirectory() as tmpdir:
            pipe.save_pretrained(tmpdir)

            pipe_loaded = self.pipeline_class.from_pretrained(tmpdir)

            pipe_loaded.to(torch_device)
            pipe_loaded.set_progress_bar_config(disable=None)

        inputs = self.get_dummy_inputs(torch_device)
        output_loaded = pipe_loaded(**inputs)[0]

        max_diff = np.abs(to_np(output) - to_np(output_loaded)).max()
        self.assertLess(max_diff, expected_max_difference)

    def test_pipeline_call_signature(self):
        self.assertTrue(
            hasattr(self.pipeline_class, "__call__"), f"{self.pipeline_class} should have a `__call__` method"
        )

        parameters = inspect.signature(self.pipeline_class.__call__).parameters

        optional_parameters = set()

        for k, v in parameters.items():
            if v.default != inspect._empty:
                optional_parameters.add(k)

        parameters = set(parameters.keys())
        parameters.remove("self")
        parameters.discard("kwargs")  # kwargs can be added if arguments of pipeline call function are deprecated

        remaining_required_parameters = set()

        for param in self.params:
            if param not in parameters:
                remaining_required_parameters.add(param)

        self.assertTrue(
            len(remaining_required_parameters) == 0,
            f"Required parameters not present: {remaining_required_parameters}",
        )

        remaining_required_optional_parameters = set()

        for param in self.required_optional_params:
            if param not in optional_parameters:
                remaining_required_optional_parameters.add(param)

        self.assertTrue(
            len(remaining_required_optional_parameters) == 0,
            f"Required optional parameters not present: {remaining_required_optional_parameters}",
        )

    def test_inference_batch_consistent(self, batch_sizes=[2]):
        self._test_inference_batch_consistent(batch_sizes=batch_sizes)

    def _test_inference_batch_consistent(self, batch_sizes=[2], batch_generator=True):
        components = self.get_dummy_components()
        pipe = self.pipeline_class(**components)
        pipe.to(torch_device)
        pipe.set_progress_bar_config(disable=None)

        inputs = self.get_dummy_inputs(torch_device)
        inputs["generator"] = self.get_generator(0)

        # prepare batched inputs
        batched_inputs = []
        for batch_size in batch_sizes:
            batched_input = {}
            batched_input.update(inputs)

            for name in self.batch_params:
                if name not in inputs:
                    continue

                value = inputs[name]
                batched_input[name] = batch_size * [value]

            if batch_generator and "generator" in inputs:
                batched_input["generator"] = [self.get_generator(i) for i in range(batch_size)]

            if "batch_size" in inputs:
                batched_input["batch_size"] = batch_size

            batched_inputs.append(batched_input)

        for batch_size, batched_input in zip(batch_sizes, batched_inputs):
            output = pipe(**batched_input)
            assert len(output[0]) == batch_size

    def test_inference_batch_single_identical(self, batch_size=3, expected_max_diff=1e-4):
        self._test_inference_batch_single_identical(batch_size=batch_size, expected_max_diff=expected_max_diff)

    def _test_inference_batch_single_identical(
        self,
        batch_size=2,
        expected_max_diff=1e-4,
        additional_params_copy_to_batched_inputs=["num_inference_steps"],
    ):
        components = self.get_dummy_components()
        pipe = self.pipeline_class(**components)

        pipe.to(torch_device)
        pipe.set_progress_bar_config(disable=None)
        inputs = self.get_dummy_inputs(torch_device)
        # Reset generator in case it is has been used in self.get_dummy_inputs
        inputs["generator"] = self.get_generator(0)

        # batchify inputs
        batched_inputs = {}
        batched_inputs.update(inputs)

        for name in self.batch_params:
            if name not in inputs:
                continue

            value = inputs[name]
            batched_inputs[name] = batch_size * [value]

        if "generator" in inputs:
            batched_inputs["generator"] = [self.get_generator(i) for i in range(batch_size)]

        if "batch_size" in inputs:
            batched_inputs["batch_size"] = batch_size

        for arg in additional_params_copy_to_batched_inputs:
            batched_inputs[arg] = inputs[arg]

        output = pipe(**inputs)
        output_batch = pipe(**batched_inputs)

        assert output_batch[0].shape[0] == batch_size

        max_diff = np.abs(to_np(output_batch[0][0]) - to_np(output[0][0])).max()
        assert max_diff < expected_max_diff

    def test_dict_tuple_outputs_equivalent(self, expected_slice=None, expected_max_difference=1e-4):
        components = self.get_dummy_components()
        pipe = self.pipeline_class(**components)

        pipe.to(torch_device)
        pipe.set_progress_bar_config(disable=None)

        generator_device = "cpu"
        if expected_slice is None:
            output = pipe(**self.get_dummy_inputs(generator_device))[0]
        else:
            output = expected_slice

        output_tuple = pipe(**self.get_dummy_inputs(generator_device), return_dict=False)[0]

        if expected_slice is None:
            max_diff = np.abs(to_np(output) - to_np(output_tuple)).max()
        else:
            if output_tuple.ndim != 5:
                max_diff = np.abs(to_np(output) - to_np(output_tuple)[0, -3:, -3:, -1].flatten()).max()
            else:
                max_diff = np.abs(to_np(output) - to_np(output_tuple)[0, -3:, -3:, -1, -1].flatten()).max()

        self.assertLess(max_diff, expected_max_difference)

    def test_components_function(self):
        init_components = self.get_dummy_components()
        init_components = {k: v for k, v in init_components.items() if not isinstance(v, (str, int, float))}

        pipe = self.pipeline_class(**init_components)

        self.assertTrue(hasattr(pipe, "components"))
        self.assertTrue(set(pipe.components.keys()) == set(init_components.keys()))

    def test_to_dtype(self):
        components = self.get_dummy_components()
        pipe = self.pipeline_class(**components)
        pipe.set_progress_bar_config(disable=None)

        model_dtypes = [component.dtype for component in components.values() if getattr(component, "dtype", None)]
        self.assertTrue(all(dtype == torch.float32 for dtype in model_dtypes))

        pipe.to(dtype=torch.float16)
        model_dtypes = [component.dtype for component in components.values() if getattr(component, "dtype", None)]
        self.assertTrue(all(dtype == torch.float16 for dtype in model_dtypes))
