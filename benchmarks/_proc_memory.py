"""The process's own memory figures on Linux, for the memory benchmarks (``scale_memory.py``, ``tree_shap_memory.py``)."""

from __future__ import annotations


def status_bytes(field: str) -> int:
    """A ``/proc/self/status`` field (``"VmRSS"``, ``"VmHWM"``...) in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset the peak resident size (``VmHWM``) to the current one; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
