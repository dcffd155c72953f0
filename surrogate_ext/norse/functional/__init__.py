"""Norse's ``norse.torch.functional``: :mod:`.threshold` (its threshold functions)."""
from . import threshold  # noqa: F401
