"""Fixtures of the lab's tests: the service suite's `keep_torch_threads` (the lab's tools raise
torch's thread count to every core) and `media_root` (stored files in a temporary directory),
reused rather than written twice."""

from tests.conftest import keep_torch_threads, media_root

__all__ = ["keep_torch_threads", "media_root"]
