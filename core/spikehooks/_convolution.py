"""Convolution and pooling connectivity with mlGeNN's parameters (channels-last shapes).

These are *tied* connectivities: many synapses share one kernel entry
(a "tap").  The learnable weight of a connection is the kernel, e.g. shape
``(kh, kw, c_in, filters)`` for :class:`Conv2D`; the synapses are the index
triples of :mod:`._conv_geometry`.  Backends propagate spikes event by event
through these triples and never build the dense ``(n_pre, n_post)`` matrix
per step; :meth:`TiedConnectivity.expand` builds it for tests and for the
EventProp backward pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _conv_geometry as geo
from .connectivity import Connectivity, _check_delay, _describe
from .errors import ConfigurationError
from .initializers import check_shape, materialise, resolve_value

_PAIR_FIX = "Pass an int or a pair of ints, e.g. 3 or (3, 3)."


def _pair(value: Any, owner: str, name: str, default: tuple[int, int] | None = None
          ) -> tuple[int, int]:
    if value is None and default is not None:
        return default
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if (len(pair) != 2 or not all(isinstance(v, (int, np.integer))
                                  and not isinstance(v, bool) and v >= 1 for v in pair)):
        raise ConfigurationError(f"{owner} {name} must be a positive int or a pair of positive "
                                 f"ints; got {value!r}. {_PAIR_FIX}")
    return int(pair[0]), int(pair[1])


def _padding(value: Any, owner: str) -> str:
    if value not in ("valid", "same"):
        raise ConfigurationError(f"{owner} conv_padding must be 'valid' or 'same'; got "
                                 f"{value!r}. Pass conv_padding='valid' (no padding) or 'same'.")
    return str(value)


class TiedConnectivity(Connectivity):
    """Base of connectivity whose synapses share the entries of a kernel.

    Subclasses set the geometry in :meth:`bind`, which every connection calls
    with its source shape before anything is simulated.

    Attributes
    ----------
    kernel_shape : tuple of int
        Shape of the learnable weight (set by :meth:`bind`).
    scale : float
        Factor applied to every synapse (``1 / pool area`` when pooling is fused).
    trainable : bool
        Whether training updates the kernel (False for :class:`AvgPool2D`).
    flatten : bool
        Whether the inferred target shape is flattened to one axis.
    """

    kernel_shape: tuple[int, ...] = ()
    #: im2col gather index ``(positions, kernel rows)`` where the map is a plain
    #: convolution (post ``= position * filters + filter``), else None.
    patches: np.ndarray | None = None
    scale: float = 1.0
    trainable: bool = True
    flatten: bool = False

    def bind(self, source_shape: tuple[int, ...], owner: str) -> tuple[int, ...]:
        """Check ``source_shape``, store the synapses; return the target shape."""
        raise NotImplementedError

    def _set_synapses(self, pre: np.ndarray, post: np.ndarray, tap: np.ndarray,
                      num_pre: int, num_post: int) -> None:
        self.pre, self.post, self.tap = pre, post, tap
        self.num_pre, self.num_post = num_pre, num_post
        counts = np.bincount(pre, minlength=num_pre)
        width = int(counts.max()) if counts.size else 0
        # Row tables, one row per pre neuron, padded with the spill slot num_post
        # (tap 0): a spike adds its whole row with one gather.
        self.row_post = np.full((num_pre, width), num_post, dtype=np.int64)
        self.row_tap = np.zeros((num_pre, width), dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        slot = np.arange(len(pre)) - starts[pre]
        self.row_post[pre, slot] = post
        self.row_tap[pre, slot] = tap

    def _check_bound(self, owner: str) -> None:
        if not hasattr(self, "pre"):
            raise ConfigurationError(
                f"{owner} {type(self).__name__} must be bound to a source shape first; got an "
                f"unbound connectivity. Use it in a Connection or Layer.")

    def check_shapes(self, source_shape: tuple[int, ...], target_shape: tuple[int, ...],
                     owner: str) -> None:
        """Bind to ``source_shape`` and check the target's size against the output."""
        out = self.bind(source_shape, owner)
        if math.prod(out) != math.prod(target_shape):
            raise ConfigurationError(
                f"{owner} {type(self).__name__} target shape must be {out} (flattened "
                f"{(math.prod(out),)}) for source shape {tuple(source_shape)}; got "
                f"{tuple(target_shape)}. Leave the Layer's shape out to infer it.")
        check_shape(self.weight, self.kernel_shape, f"{owner} {type(self).__name__} weight")

    def check(self, num_pre: int, num_post: int, owner: str) -> None:
        self._check_bound(owner)

    def make_kernel(self, rng: np.random.Generator) -> np.ndarray:
        """Draw the kernel: float32 array of :attr:`kernel_shape`."""
        return materialise(self.weight, self.kernel_shape, rng)

    def expand(self, kernel: np.ndarray) -> np.ndarray:
        """Return the dense float32 ``(n_pre, n_post)`` weights ``kernel`` stands for."""
        dense = np.zeros((self.num_pre, self.num_post), dtype=np.float32)
        dense[self.pre, self.post] = np.asarray(kernel, np.float32).reshape(-1)[self.tap] \
            * np.float32(self.scale)
        return dense

    def reduce(self, dense_grad: np.ndarray) -> np.ndarray:
        """Sum a dense ``(n_pre, n_post)`` gradient over tied synapses: the kernel gradient."""
        flat = np.bincount(self.tap, weights=dense_grad[self.pre, self.post] * self.scale,
                           minlength=math.prod(self.kernel_shape))
        return flat.reshape(self.kernel_shape)

    def build(self, num_pre, num_post, rng):
        weight = self.expand(self.make_kernel(rng))
        mask = np.zeros((num_pre, num_post), dtype=bool)
        mask[self.pre, self.post] = True
        return weight, mask

    def _finish(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(shape),) if self.flatten else shape

    def _source3(self, source_shape: tuple[int, ...], owner: str) -> tuple[int, int, int]:
        if len(source_shape) != 3:
            raise ConfigurationError(
                f"{owner} {type(self).__name__} source shape must be (height, width, channels); "
                f"got {tuple(source_shape)}. Give the source layer a 3-D shape, e.g. (8, 8, 1).")
        return int(source_shape[0]), int(source_shape[1]), int(source_shape[2])

    def _check_conv(self, in_shape: tuple[int, int, int], size: tuple[int, int],
                    strides: tuple[int, int], padding: str, owner: str) -> None:
        name = type(self).__name__
        for axis, n, k, s in zip(("height", "width"), in_shape[:2], size, strides, strict=True):
            if k > n:
                raise ConfigurationError(
                    f"{owner} {name} conv_size must fit the input; got a kernel {size} on input "
                    f"{in_shape} ({axis} {k} > {n}). Use a smaller conv_size.")
            span = n - k if padding == "valid" else n
            if span % s:
                raise ConfigurationError(
                    f"{owner} {name} conv_strides must tile the input; got strides {strides} "
                    f"and kernel {size} on input {in_shape} ({axis}: ({span}) % {s} != 0 with "
                    f"conv_padding={padding!r}). Choose strides that divide it.")


class Conv2D(TiedConnectivity):
    """2-D convolution from a channels-last ``(height, width, channels)`` source.

    Parameters
    ----------
    weight : float, array of shape (kh, kw, c_in, filters), or Initializer
        The kernel.
    filters : int
        Number of output channels.
    conv_size : int or (int, int)
        Kernel height and width.
    flatten : bool
        Infer the target shape as one flat axis instead of ``(oh, ow, filters)``.
    conv_strides : int or (int, int), optional
        Default (1, 1).  Must tile the input exactly.
    conv_padding : {"valid", "same"}
        "same" pads evenly (TensorFlow's rule) so stride 1 keeps the size.
    delay : int
        Axonal delay in timesteps; the NumPy backend supports 0.
    """

    def __init__(self, weight: Any, filters: int, conv_size: Any, flatten: bool = False,
                 conv_strides: Any = None, conv_padding: str = "valid", delay: int = 0):
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
            raise ConfigurationError(f"{type(self).__name__} filters must be a positive int; "
                                     f"got {filters!r}. Pass e.g. filters=16.")
        self.filters = int(filters)
        self.conv_size = _pair(conv_size, type(self).__name__, "conv_size")
        self.conv_strides = _pair(conv_strides, type(self).__name__, "conv_strides", (1, 1))
        self.conv_padding = _padding(conv_padding, type(self).__name__)
        self.flatten = bool(flatten)
        self.weight = resolve_value(weight, f"{type(self).__name__} weight")
        self.delay = _check_delay(delay, type(self).__name__)

    def bind(self, source_shape, owner):
        in_shape = self._source3(source_shape, owner)
        self._check_conv(in_shape, self.conv_size, self.conv_strides, self.conv_padding, owner)
        self.kernel_shape = (*self.conv_size, in_shape[2], self.filters)
        pre, post, tap = geo.conv_synapses(in_shape, self.conv_size, self.filters,
                                           self.conv_strides, self.conv_padding)
        out = (geo.conv_output(in_shape[0], self.conv_size[0], self.conv_strides[0],
                               self.conv_padding),
               geo.conv_output(in_shape[1], self.conv_size[1], self.conv_strides[1],
                               self.conv_padding), self.filters)
        self._set_synapses(pre, post, tap, math.prod(in_shape), math.prod(out))
        self.patches = geo.conv_patches(in_shape, self.conv_size, self.conv_strides,
                                        self.conv_padding)
        self.output_shape = out
        return self._finish(out)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(weight={_describe(self.weight)}, filters={self.filters}, "
                f"conv_size={self.conv_size}, conv_strides={self.conv_strides}, "
                f"conv_padding={self.conv_padding!r})")


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution; the kernel has shape ``(kh, kw, filters, c_in)`` (Keras order).

    Output size per axis: ``n * s + max(k - s, 0)`` ("valid") or ``n * s``
    ("same"), as mlGeNN.  Parameters as :class:`Conv2D`.
    """

    def bind(self, source_shape, owner):
        ih, iw, ic = self._source3(source_shape, owner)
        (kh, kw), (sh, sw) = self.conv_size, self.conv_strides
        if self.conv_padding == "valid":
            out = (ih * sh + max(kh - sh, 0), iw * sw + max(kw - sw, 0), self.filters)
        else:
            out = (ih * sh, iw * sw, self.filters)
        self.kernel_shape = (kh, kw, self.filters, ic)
        pre, post, tap = geo.conv_transpose_synapses((ih, iw, ic), self.conv_size, self.filters,
                                                     self.conv_strides, self.conv_padding, out)
        self._set_synapses(pre, post, tap, ih * iw * ic, math.prod(out))
        self.output_shape = out
        return self._finish(out)


class AvgPool2D(TiedConnectivity):
    """Average pooling, channel by channel; every synapse weighs ``1 / (ph * pw)`` (fixed).

    Parameters
    ----------
    pool_size : int or (int, int)
        Pool height and width; must divide the input (no rows dropped).
    flatten : bool
        Infer a flat target shape.
    pool_strides : int or (int, int), optional
        Default ``pool_size``; must be >= ``pool_size`` (as mlGeNN).
    delay : int
        Axonal delay in timesteps.
    """

    trainable = False

    def __init__(self, pool_size: Any, flatten: bool = False, pool_strides: Any = None,
                 delay: int = 0):
        owner = type(self).__name__
        self.pool_size = _pair(pool_size, owner, "pool_size")
        self.pool_strides = _pair(pool_strides, owner, "pool_strides", self.pool_size)
        _check_pool_strides(self.pool_size, self.pool_strides, owner)
        self.flatten = bool(flatten)
        self.weight = np.ones(1, dtype=np.float32)
        self.scale = 1.0 / (self.pool_size[0] * self.pool_size[1])
        self.kernel_shape = (1,)
        self.delay = _check_delay(delay, owner)

    def bind(self, source_shape, owner):
        in_shape = self._source3(source_shape, owner)
        out = _pool_output(in_shape, self.pool_size, self.pool_strides, owner, type(self).__name__)
        pre, post, tap = geo.pool_synapses(in_shape, self.pool_size, self.pool_strides)
        self._set_synapses(pre, post, tap, math.prod(in_shape), math.prod(out))
        self.output_shape = out
        return self._finish(out)

    def __repr__(self) -> str:
        return f"AvgPool2D(pool_size={self.pool_size}, pool_strides={self.pool_strides})"


class AvgPoolDense2D(TiedConnectivity):
    """Average pooling fused with a dense layer (no non-linearity between them).

    Parameters
    ----------
    weight : float, array of shape (pooled_size, n_post), or Initializer
        Dense weights from the pooled ``(oh, ow, c)`` map (C order) to the target.
    pool_size, pool_strides : int or (int, int)
        As :class:`AvgPool2D`.
    delay : int
        Axonal delay in timesteps.
    """

    def __init__(self, weight: Any, pool_size: Any, pool_strides: Any = None, delay: int = 0):
        owner = type(self).__name__
        self.pool_size = _pair(pool_size, owner, "pool_size")
        self.pool_strides = _pair(pool_strides, owner, "pool_strides", self.pool_size)
        _check_pool_strides(self.pool_size, self.pool_strides, owner)
        self.weight = resolve_value(weight, f"{owner} weight")
        self.scale = 1.0 / (self.pool_size[0] * self.pool_size[1])
        self.delay = _check_delay(delay, owner)

    def bind(self, source_shape, owner, num_post: int | None = None):
        in_shape = self._source3(source_shape, owner)
        pooled = _pool_output(in_shape, self.pool_size, self.pool_strides, owner,
                              type(self).__name__)
        if num_post is None:
            if not isinstance(self.weight, np.ndarray) or self.weight.ndim != 2:
                raise ConfigurationError(
                    f"{owner} AvgPoolDense2D target shape cannot be inferred from a "
                    f"{_describe(self.weight)} weight; got no Layer shape. Pass the Layer's "
                    f"shape or a 2-D weight array.")
            num_post = int(self.weight.shape[1])
        num_mid = math.prod(pooled)
        self.kernel_shape = (num_mid, num_post)
        mid, post = np.meshgrid(np.arange(num_mid), np.arange(num_post), indexing="ij")
        dense = (mid.ravel(), post.ravel(), (mid * num_post + post).ravel())
        pre, post_, tap, _ = geo.compose(
            geo.pool_synapses(in_shape, self.pool_size, self.pool_strides), self.scale,
            dense, num_mid)
        self._set_synapses(pre, post_, tap, math.prod(in_shape), num_post)
        self.output_shape = (num_post,)
        return self.output_shape

    def check_shapes(self, source_shape, target_shape, owner):
        self.bind(source_shape, owner, math.prod(target_shape))
        check_shape(self.weight, self.kernel_shape, f"{owner} AvgPoolDense2D weight")

    def __repr__(self) -> str:
        return (f"AvgPoolDense2D(weight={_describe(self.weight)}, pool_size={self.pool_size}, "
                f"pool_strides={self.pool_strides})")


class AvgPoolConv2D(Conv2D):
    """Average pooling fused with a 2-D convolution (no non-linearity between them).

    Parameters as :class:`Conv2D`, plus ``pool_size`` and ``pool_strides``
    (as :class:`AvgPool2D`); the kernel has shape ``(kh, kw, c_in, filters)``
    and sees the pooled map.  ``conv_strides`` must be 1, as in mlGeNN.
    """

    def __init__(self, weight: Any, filters: int, pool_size: Any, conv_size: Any,
                 flatten: bool = False, pool_strides: Any = None, conv_strides: Any = None,
                 conv_padding: str = "valid", delay: int = 0):
        super().__init__(weight, filters, conv_size, flatten, conv_strides, conv_padding, delay)
        owner = type(self).__name__
        self.pool_size = _pair(pool_size, owner, "pool_size")
        self.pool_strides = _pair(pool_strides, owner, "pool_strides", self.pool_size)
        _check_pool_strides(self.pool_size, self.pool_strides, owner)
        if self.conv_strides != (1, 1):
            raise ConfigurationError(f"AvgPoolConv2D conv_strides must be 1; got "
                                     f"{self.conv_strides}. Pool with pool_strides instead.")
        self.scale = 1.0 / (self.pool_size[0] * self.pool_size[1])

    def bind(self, source_shape, owner):
        in_shape = self._source3(source_shape, owner)
        pooled = _pool_output(in_shape, self.pool_size, self.pool_strides, owner,
                              type(self).__name__)
        self._check_conv(pooled, self.conv_size, self.conv_strides, self.conv_padding, owner)
        self.kernel_shape = (*self.conv_size, pooled[2], self.filters)
        out = (geo.conv_output(pooled[0], self.conv_size[0], 1, self.conv_padding),
               geo.conv_output(pooled[1], self.conv_size[1], 1, self.conv_padding), self.filters)
        second = geo.conv_synapses(pooled, self.conv_size, self.filters, (1, 1),
                                   self.conv_padding)
        pre, post, tap, _ = geo.compose(
            geo.pool_synapses(in_shape, self.pool_size, self.pool_strides), self.scale,
            second, math.prod(pooled))
        self._set_synapses(pre, post, tap, math.prod(in_shape), math.prod(out))
        self.output_shape = out
        return self._finish(out)


def _check_pool_strides(size: tuple[int, int], strides: tuple[int, int], owner: str) -> None:
    if strides[0] < size[0] or strides[1] < size[1]:
        raise ConfigurationError(f"{owner} pool_strides must be >= pool_size; got strides "
                                 f"{strides} and size {size}. Overlapping pools are not "
                                 f"supported (as in mlGeNN); leave pool_strides out.")


def _pool_output(in_shape: tuple[int, int, int], size: tuple[int, int],
                 strides: tuple[int, int], owner: str, name: str) -> tuple[int, int, int]:
    for axis, n, k, s in zip(("height", "width"), in_shape[:2], size, strides, strict=True):
        if k > n or (n - k) % s:
            raise ConfigurationError(
                f"{owner} {name} pool_size must divide the input; got pool {size} with strides "
                f"{strides} on input {in_shape} ({axis} {n}). Pick a pool size dividing "
                f"{n}, or crop the input.")
    return (geo.conv_output(in_shape[0], size[0], strides[0], "valid"),
            geo.conv_output(in_shape[1], size[1], strides[1], "valid"), in_shape[2])


__all__ = ["AvgPool2D", "AvgPoolConv2D", "AvgPoolDense2D", "Conv2D", "Conv2DTranspose",
           "TiedConnectivity"]
