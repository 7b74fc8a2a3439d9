from .mode_coverage import ModeCoverage, mode_coverage
from .sliced_wasserstein import sliced_wasserstein_distance

__all__ = ["ModeCoverage", "mode_coverage", "sliced_wasserstein_distance"]
