"""Whether the Hugging Face hub can be reached (offline, the defaults come from packages and local caches)."""

import os
import socket
from functools import lru_cache


@lru_cache(maxsize=1)
def hub_reachable() -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HARNESS_OFFLINE") == "1":
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=1.5):
            return True
    except OSError:
        return False
