"""mlGeNN's ``**genn_kwargs``: keywords a compiler hands to GeNN's ``GeNNModel``.

mlGeNN's compilers pass every keyword they do not know to ``GeNNModel``
(GeNN's model options and its backend's preferences, e.g. which GPU to
use).  spikehooks accepts the names GeNN defines, gives them to the GeNN
backend as ``genn_preferences``, and ignores them on the CPU backends, as it
does ``kernel_profiling``.  Any other name is refused, so a misspelt compiler
parameter (``batchsize=32``) cannot pass silently.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import ConfigurationError

#: GeNNModel's own keywords and the preferences of GeNN 5's backends (snake case)
#: and GeNN 4's (camel case, as older mlGeNN examples spell them).
GENN_KEYWORDS = frozenset({
    # GeNN 5: GeNNModel and PreferencesBase
    "time_precision", "genn_log_level", "code_gen_log_level", "transpiler_log_level",
    "runtime_log_level", "backend_log_level", "optimize_code", "debug_code",
    "generate_empty_state_push_pull", "generate_extra_global_param_pull", "log_level",
    "automatic_copy", "enable_bitmask_optimisations", "user_cxx_flags_gnu",
    # GeNN 5: CUDA and HIP backends
    "show_ptx_info", "generate_line_info", "enable_nccl_reductions", "device_select_method",
    "manual_device_id", "block_size_select_method", "manual_block_sizes",
    "constant_cache_overhead", "user_nvcc_flags",
    # GeNN 4 (camel case)
    "timePrecision",
    "optimizeCode", "debugCode", "generateEmptyStatePushPull",
    "generateExtraGlobalParamPull", "logLevel", "automaticCopy",
    "enableBitmaskOptimisations", "userCxxFlagsGNU", "showPtxInfo", "generateLineInfo",
    "enableNCCLReductions", "selectGPUByDeviceID", "deviceSelectMethod", "manualDeviceID",
    "blockSizeSelectMethod", "manualBlockSizes", "constantCacheOverhead", "userNvccFlags",
})


def check_genn_kwargs(genn_kwargs: dict[str, Any], owner: str) -> dict[str, Any]:
    """Return ``genn_kwargs`` when every name is one of GeNN's; raise naming the first other."""
    unknown = sorted(k for k in genn_kwargs if k not in GENN_KEYWORDS)
    if unknown:
        raise ConfigurationError(
            f"{owner} keywords must be its parameters or GeNN model preferences (mlGeNN's "
            f"**genn_kwargs); got {unknown}. Check the spelling against the compiler's "
            f"parameters, or pass other GeNN preferences with backend=('genn', "
            f"{{'genn_preferences': {{...}}}})."
        )
    return dict(genn_kwargs)


def backend_kwargs(backend_class: Any, genn_kwargs: dict[str, Any],
                   explicit: dict[str, Any]) -> dict[str, Any]:
    """The backend's keywords: ``explicit`` plus ``genn_kwargs`` as GeNN preferences where the
    backend takes them (the GeNN backend; the CPU backends ignore them)."""
    if not genn_kwargs:
        return explicit
    try:
        params = inspect.signature(backend_class).parameters
    except (TypeError, ValueError):
        return explicit
    if "genn_preferences" not in params:
        return explicit
    merged = {**genn_kwargs, **(explicit.get("genn_preferences") or {})}
    return {**explicit, "genn_preferences": merged}


__all__ = ["GENN_KEYWORDS", "backend_kwargs", "check_genn_kwargs"]
