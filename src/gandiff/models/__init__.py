from .modeling import ModelMixin

__all__ = ["ModelMixin"]
