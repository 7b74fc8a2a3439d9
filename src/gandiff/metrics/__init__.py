"""Metrics: each a function over tensors, plus `point_metrics` and `digit_metrics`, which score
samples against a data set beside the data's own floor.

The Inception FID (`gandiff.metrics.inception_fid`, optional extra ``metrics``) and the
scores against a data set (`gandiff.metrics.evaluate`) are imported on first use. Sampling a
pipeline and scoring it is `gandiff.evaluation.evaluate_pipeline`.
"""

from .._lazy import lazy_getattr
from .class_coverage import ClassCoverage, class_coverage
from .frechet_distance import (
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
)
from .histogram import kl_from_uniform
from .mode_coverage import ModeCoverage, mode_coverage
from .precision_recall import PrecisionRecall, precision_recall
from .sliced_wasserstein import (
    SlicedWasserstein,
    sliced_wasserstein_distance,
    sliced_wasserstein_with_floor,
)

# public name -> module that defines it, imported on first use (PEP 562)
_LAZY = {
    "DigitClassifier": "gandiff.metrics.digit_classifier",
    "load_digit_classifier": "gandiff.metrics.digit_classifier",
    "inception_fid": "gandiff.metrics.inception_fid",
    "InceptionWeightsUnavailableError": "gandiff.metrics.inception_fid",
    "point_metrics": "gandiff.metrics.evaluate",
    "digit_metrics": "gandiff.metrics.evaluate",
}

__all__ = [
    *_LAZY,
    "ClassCoverage",
    "ModeCoverage",
    "PrecisionRecall",
    "SlicedWasserstein",
    "class_coverage",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "kl_from_uniform",
    "mode_coverage",
    "precision_recall",
    "sliced_wasserstein_distance",
    "sliced_wasserstein_with_floor",
]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
