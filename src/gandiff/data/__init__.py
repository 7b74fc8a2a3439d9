from .toy2d import GaussianMixture2D, grid25, ring8

__all__ = ["GaussianMixture2D", "grid25", "ring8"]
