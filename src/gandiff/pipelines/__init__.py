from .ddpm import DDPMPipeline
from .gan import GANPipeline
from .pipeline import ImagePipelineOutput, Pipeline, PointsPipelineOutput

__all__ = ["DDPMPipeline", "GANPipeline", "ImagePipelineOutput", "Pipeline", "PointsPipelineOutput"]
