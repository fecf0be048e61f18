"""glibc allocator settings for the workflow's jobs (every job inherits Snakemake's environment).

By default glibc hands large freed blocks back to the kernel (``munmap``, heap trimming) and
faults them in again at the next allocation. A training step frees and re-allocates the same
activation tensors every step, so a one-thread job spends seconds in the kernel doing that:
measured on a 2-core machine, the small CNN's ck_demo `landmark_warp` job took 2.7-8.1 s of
system time (26-34 s wall, three runs) and 1.8-2.3 s with these settings (27-28 s). A
threshold of 1 GiB keeps blocks up to that size in the process for reuse; the job's peak
memory is unchanged (what it frees it reuses). A value the user set wins.
"""

from __future__ import annotations

from collections.abc import Mapping

ALLOCATOR_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),  # blocks below this come from the heap, not mmap
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),  # free heap top kept up to this size
}


def allocator_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings of ``ALLOCATOR_ENV`` that ``environ`` does not set already."""
    return {key: value for key, value in ALLOCATOR_ENV.items() if key not in environ}
