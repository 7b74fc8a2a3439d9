"""diffusers' tests of ``DDIMScheduler``, run against gandiff's ``DDIMScheduler``.

Origin: huggingface/diffusers, ``tests/schedulers/test_scheduler_ddim.py`` at commit
58eb52c0803ea9af3abec60841c2a093bdf1f951 (the same text as the v0.40.0 release; diffusers 0.42.1,
installed here as the reference, ships no tests), with the ``SchedulerCommonTest`` body of
``tests/schedulers/test_schedulers.py`` ported in ``_scheduler_common.py``. Originally Copyright
2026 HuggingFace Inc., Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0); modified as
listed below. Hard-coded expected numbers are diffusers', unchanged.

Changes:

* ``from diffusers import DDIMScheduler`` -> ``from gandiff import DDIMScheduler``.
* ``test_variance``: diffusers calls its private ``_get_variance(t, prev_t)``; gandiff has no such
  method, so the same quantity, (1 − ᾱ_prev) / (1 − ᾱ_t) · (1 − ᾱ_t / ᾱ_prev) (σ_t² at η = 1, Song
  et al. 2021, eq. 16), is read from gandiff's public table ``alphas_cumprod`` (ᾱ_prev = ᾱ_0 after
  the first training timestep, diffusers' ``set_alpha_to_one=False`` reading of t = 0 is not
  involved: every pair here has prev_t ≥ 0); the expected numbers are diffusers'.
* Deliberate differences of gandiff, marked in each test and asserting gandiff's behaviour:
  - ``test_betas``: β from 0.01 to 0.2 (ᾱ underflows to 0 in float32) and from 0.1 to 2 (β > 1,
    ᾱ < 0) are rejected in ``__init__``; the other two ranges are checked as diffusers checks them.
  - ``test_time_indices``, ``test_inference_steps``, ``test_eta``, ``test_steps_offset``,
    ``test_timestep_spacing``: diffusers steps from timesteps
    that are not in the schedule (t = 1, 10, 49 with 50 steps, whose timesteps are 980, 960, ..., 0; t = 0 with
    ``steps_offset=1`` or ``"trailing"`` spacing, whose schedules end at 1 and 19)
    and computes the previous one as t − T // N. gandiff's ``step`` only takes timesteps of the
    schedule (it looks the previous one up there, which is right for every spacing) and raises a
    ValueError naming the schedule otherwise. The tests check that error, and run diffusers'
    comparison (outputs equal after a save and load) at timesteps of the schedule instead.
  - ``test_trained_betas`` and ``test_getattr_is_correct`` of the common body (see ``_scheduler_common.py``).

Counts (diffusers collects 28 tests of ``DDIMSchedulerTest`` here, plus 10 copies of the base class's
tests that run over no scheduler and check nothing): 27 ported, 27 passing, 8 marked deliberate
(test_betas, test_time_indices, test_inference_steps, test_eta, test_steps_offset, test_timestep_spacing,
test_trained_betas, test_getattr_is_correct), 1 left out (test_deprecated_kwargs; see ``_scheduler_common.py``).
"""

import torch

from gandiff import DDIMScheduler

from . import _scheduler_common


class DDIMSchedulerTest(_scheduler_common.SchedulerCommonTest):
    scheduler_classes = (DDIMScheduler,)
    forward_default_kwargs = (("eta", 0.0), ("num_inference_steps", 50))

    def get_scheduler_config(self, **kwargs):
        config = {
            "num_train_timesteps": 1000,
            "beta_start": 0.0001,
            "beta_end": 0.02,
            "beta_schedule": "linear",
            "clip_sample": True,
        }

        config.update(**kwargs)
        return config

    def full_loop(self, **config):
        scheduler_class = self.scheduler_classes[0]
        scheduler_config = self.get_scheduler_config(**config)
        scheduler = scheduler_class(**scheduler_config)

        num_inference_steps, eta = 10, 0.0

        model = self.dummy_model()
        sample = self.dummy_sample_deter

        scheduler.set_timesteps(num_inference_steps)

        for t in scheduler.timesteps:
            residual = model(sample, t)
            sample = scheduler.step(residual, t, sample, eta).prev_sample

        return sample

    def test_timesteps(self):
        for timesteps in [100, 500, 1000]:
            self.check_over_configs(num_train_timesteps=timesteps)

    def test_steps_offset(self):
        # Deliberate difference: with steps_offset=1 the 50-step schedule ends at timestep 1, and
        # gandiff's step refuses diffusers' timestep 0, which is not in it; the comparison runs at 1.
        self.check_over_configs(steps_offset=0)
        with self.assertRaisesRegex(ValueError, "schedule"):
            self.check_over_configs(steps_offset=1)
        self.check_over_configs(time_step=1, steps_offset=1)

        scheduler_class = self.scheduler_classes[0]
        scheduler_config = self.get_scheduler_config(steps_offset=1)
        scheduler = scheduler_class(**scheduler_config)
        scheduler.set_timesteps(5)
        assert torch.equal(scheduler.timesteps, torch.LongTensor([801, 601, 401, 201, 1]))

    def test_betas(self):
        # Deliberate difference: diffusers accepts the last two ranges, whose ᾱ reaches 0.0 in float32
        # (β from 0.01 to 0.2) or goes negative (β up to 2 > 1), so x_0 = (x_t − √(1 − ᾱ) ε) / √ᾱ is
        # inf or NaN at late steps; gandiff rejects both in __init__.
        for beta_start, beta_end in zip([0.0001, 0.001], [0.002, 0.02]):
            self.check_over_configs(beta_start=beta_start, beta_end=beta_end)
        for beta_start, beta_end in zip([0.01, 0.1], [0.2, 2]):
            with self.assertRaises(ValueError):
                self.check_over_configs(beta_start=beta_start, beta_end=beta_end)

    def test_schedules(self):
        for schedule in ["linear", "squaredcos_cap_v2"]:
            self.check_over_configs(beta_schedule=schedule)

    def test_prediction_type(self):
        for prediction_type in ["epsilon", "v_prediction"]:
            self.check_over_configs(prediction_type=prediction_type)

    def test_clip_sample(self):
        for clip_sample in [True, False]:
            self.check_over_configs(clip_sample=clip_sample)

    def test_timestep_spacing(self):
        # Deliberate difference: the "trailing" 50-step schedule ends at timestep 19, and gandiff's
        # step refuses diffusers' timestep 0, which is not in it; the comparison runs at 19.
        with self.assertRaisesRegex(ValueError, "schedule"):
            self.check_over_configs(timestep_spacing="trailing")
        self.check_over_configs(time_step=19, timestep_spacing="trailing")
        self.check_over_configs(timestep_spacing="leading")

    def test_rescale_betas_zero_snr(self):
        for rescale_betas_zero_snr in [True, False]:
            self.check_over_configs(rescale_betas_zero_snr=rescale_betas_zero_snr)

    def test_thresholding(self):
        self.check_over_configs(thresholding=False)
        for threshold in [0.5, 1.0, 2.0]:
            for prediction_type in ["epsilon", "v_prediction"]:
                self.check_over_configs(
                    thresholding=True,
                    prediction_type=prediction_type,
                    sample_max_value=threshold,
                )

    def test_time_indices(self):
        # Deliberate difference: t = 1, 10, 49 are not timesteps of the 50-step schedule
        # (980, 960, ..., 0); gandiff's step refuses them. Diffusers' comparison runs at the
        # schedule's first, middle and last timesteps instead.
        for t in [1, 10, 49]:
            with self.assertRaisesRegex(ValueError, "schedule"):
                self.check_over_forward(time_step=t)
        for t in [980, 500, 0]:
            self.check_over_forward(time_step=t)

    def test_inference_steps(self):
        # Deliberate difference: t = 1 (10 steps) and t = 10 (50 steps) are not timesteps of their
        # schedules; gandiff's step refuses them. t = 50 is a timestep of the 500-step schedule.
        for t, num_inference_steps in zip([1, 10], [10, 50]):
            with self.assertRaisesRegex(ValueError, "schedule"):
                self.check_over_forward(time_step=t, num_inference_steps=num_inference_steps)
        for t, num_inference_steps in zip([100, 20, 50], [10, 50, 500]):
            self.check_over_forward(time_step=t, num_inference_steps=num_inference_steps)

    def test_eta(self):
        # Deliberate difference: t = 1, 10, 49 are not timesteps of the 50-step schedule; gandiff's
        # step refuses them. The three η run at timesteps of the schedule instead.
        for t, eta in zip([1, 10, 49], [0.0, 0.5, 1.0]):
            with self.assertRaisesRegex(ValueError, "schedule"):
                self.check_over_forward(time_step=t, eta=eta)
        for t, eta in zip([20, 200, 980], [0.0, 0.5, 1.0]):
            self.check_over_forward(time_step=t, eta=eta)

    def test_variance(self):
        scheduler_class = self.scheduler_classes[0]
        scheduler_config = self.get_scheduler_config()
        scheduler = scheduler_class(**scheduler_config)

        # Changed: diffusers' private scheduler._get_variance(t, prev_t), read from the public table.
        def _get_variance(t, prev_t):
            alpha_bar_t = scheduler.alphas_cumprod[t]
            alpha_bar_prev = scheduler.alphas_cumprod[prev_t]
            return (1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)

        assert torch.sum(torch.abs(_get_variance(0, 0) - 0.0)) < 1e-5
        assert torch.sum(torch.abs(_get_variance(420, 400) - 0.14771)) < 1e-5
        assert torch.sum(torch.abs(_get_variance(980, 960) - 0.32460)) < 1e-5
        assert torch.sum(torch.abs(_get_variance(0, 0) - 0.0)) < 1e-5
        assert torch.sum(torch.abs(_get_variance(487, 486) - 0.00979)) < 1e-5
        assert torch.sum(torch.abs(_get_variance(999, 998) - 0.02)) < 1e-5

    def test_full_loop_no_noise(self):
        sample = self.full_loop()

        result_sum = torch.sum(torch.abs(sample))
        result_mean = torch.mean(torch.abs(sample))

        assert abs(result_sum.item() - 172.0067) < 1e-2
        assert abs(result_mean.item() - 0.223967) < 1e-3

    def test_full_loop_with_v_prediction(self):
        sample = self.full_loop(prediction_type="v_prediction")

        result_sum = torch.sum(torch.abs(sample))
        result_mean = torch.mean(torch.abs(sample))

        assert abs(result_sum.item() - 52.5302) < 1e-2
        assert abs(result_mean.item() - 0.0684) < 1e-3

    def test_full_loop_with_set_alpha_to_one(self):
        # We specify different beta, so that the first alpha is 0.99
        sample = self.full_loop(set_alpha_to_one=True, beta_start=0.01)
        result_sum = torch.sum(torch.abs(sample))
        result_mean = torch.mean(torch.abs(sample))

        assert abs(result_sum.item() - 149.8295) < 1e-2
        assert abs(result_mean.item() - 0.1951) < 1e-3

    def test_full_loop_with_no_set_alpha_to_one(self):
        # We specify different beta, so that the first alpha is 0.99
        sample = self.full_loop(set_alpha_to_one=False, beta_start=0.01)
        result_sum = torch.sum(torch.abs(sample))
        result_mean = torch.mean(torch.abs(sample))

        assert abs(result_sum.item() - 149.0784) < 1e-2
        assert abs(result_mean.item() - 0.1941) < 1e-3

    def test_full_loop_with_noise(self):
        scheduler_class = self.scheduler_classes[0]
        scheduler_config = self.get_scheduler_config()
        scheduler = scheduler_class(**scheduler_config)

        num_inference_steps, eta = 10, 0.0
        t_start = 8

        model = self.dummy_model()
        sample = self.dummy_sample_deter

        scheduler.set_timesteps(num_inference_steps)

        # add noise
        noise = self.dummy_noise_deter
        timesteps = scheduler.timesteps[t_start * scheduler.order :]
        sample = scheduler.add_noise(sample, noise, timesteps[:1])

        for t in timesteps:
            residual = model(sample, t)
            sample = scheduler.step(residual, t, sample, eta).prev_sample

        result_sum = torch.sum(torch.abs(sample))
        result_mean = torch.mean(torch.abs(sample))

        assert abs(result_sum.item() - 354.5418) < 1e-2, f" expected result sum 218.4379, but get {result_sum}"
        assert abs(result_mean.item() - 0.4616) < 1e-3, f" expected result mean 0.2844, but get {result_mean}"
