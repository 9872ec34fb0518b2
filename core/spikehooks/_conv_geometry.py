"""Index geometry of convolution and pooling: which pre reaches which post through which tap.

Every function returns the synapses of one connectivity as three int64
arrays of equal length: ``pre`` and ``post`` (flat C-order neuron indices of
channels-last ``(height, width, channels)`` populations) and ``tap`` (flat
index into the kernel).  Shapes are checked by the callers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Synapses = tuple[np.ndarray, np.ndarray, np.ndarray]


def same_padding(in_size: int, kernel: int, stride: int) -> int:
    """Leading padding of 'same' convolution (TensorFlow's rule, as mlGeNN uses)."""
    if in_size % stride == 0:
        return max(kernel - stride, 0) // 2
    return max(kernel - in_size % stride, 0) // 2


def conv_output(in_size: int, kernel: int, stride: int, padding: str) -> int:
    """Output extent of a convolution along one axis (mlGeNN's formula)."""
    if padding == "valid":
        return -(-(in_size - kernel + 1) // stride)
    return -(-in_size // stride)


def _leading_padding(in_shape: tuple[int, int, int], kernel: tuple[int, int],
                     strides: tuple[int, int], padding: str) -> tuple[int, int]:
    """Rows and columns of leading padding (0 for 'valid')."""
    if padding != "same":
        return 0, 0
    return (same_padding(in_shape[0], kernel[0], strides[0]),
            same_padding(in_shape[1], kernel[1], strides[1]))


class _ConvGrid(NamedTuple):
    """Index grids of a convolution over ``(out_row, out_col, k_row, k_col, c_in[, filter])``."""

    oh: int  # output rows
    ow: int  # output columns
    orow: np.ndarray
    ocol: np.ndarray
    krow: np.ndarray
    kcol: np.ndarray
    cin: np.ndarray
    filt: np.ndarray | None  # only when the grid spans the filters
    irow: np.ndarray  # input row each tap reads (may lie in the padding)
    icol: np.ndarray
    inside: np.ndarray  # taps on the input rather than its padding


def _conv_grid(in_shape: tuple[int, int, int], kernel: tuple[int, int],
               strides: tuple[int, int], padding: str,
               filters: int | None = None) -> _ConvGrid:
    """The grids of a convolution of ``in_shape`` (over the filters too, given ``filters``)."""
    ih, iw, ic = in_shape
    kh, kw = kernel
    sh, sw = strides
    oh, ow = (conv_output(ih, kh, sh, padding), conv_output(iw, kw, sw, padding))
    ph, pw = _leading_padding(in_shape, kernel, strides, padding)
    axes = [np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), np.arange(ic)]
    if filters is not None:
        axes.append(np.arange(filters))
    grids = np.meshgrid(*axes, indexing="ij")
    orow, ocol, krow, kcol, cin = grids[:5]
    irow = orow * sh - ph + krow
    icol = ocol * sw - pw + kcol
    inside = (irow >= 0) & (irow < ih) & (icol >= 0) & (icol < iw)
    filt = grids[5] if filters is not None else None
    return _ConvGrid(oh, ow, orow, ocol, krow, kcol, cin, filt, irow, icol, inside)


def conv_synapses(in_shape: tuple[int, int, int], kernel: tuple[int, int], filters: int,
                  strides: tuple[int, int], padding: str) -> Synapses:
    """Synapses of :class:`~spikehooks.connectivity.Conv2D`; taps index ``(kh, kw, c_in, f)``."""
    _, iw, ic = in_shape
    _, kw = kernel
    g = _conv_grid(in_shape, kernel, strides, padding, filters)
    assert g.filt is not None
    pre = (g.irow * iw + g.icol) * ic + g.cin
    post = (g.orow * g.ow + g.ocol) * filters + g.filt
    tap = ((g.krow * kw + g.kcol) * ic + g.cin) * filters + g.filt
    return _ordered(pre[g.inside], post[g.inside], tap[g.inside])


def conv_patches(in_shape: tuple[int, int, int], kernel: tuple[int, int],
                 strides: tuple[int, int], padding: str) -> np.ndarray:
    """im2col gather index of :func:`conv_synapses`: int64 ``(oh * ow, kh * kw * c_in)``.

    Row ``p`` lists the pre neuron under each kernel row ``(kh, kw, c_in)``
    at output position ``p``; positions in the padding hold ``n_pre`` (a
    zero column appended to the spikes).
    """
    ih, iw, ic = in_shape
    kh, kw = kernel
    g = _conv_grid(in_shape, kernel, strides, padding)
    index = np.where(g.inside, (g.irow * iw + g.icol) * ic + g.cin, ih * iw * ic)
    return index.reshape(g.oh * g.ow, kh * kw * ic).astype(np.int64)


def conv_transpose_synapses(in_shape: tuple[int, int, int], kernel: tuple[int, int],
                            filters: int, strides: tuple[int, int], padding: str,
                            out_shape: tuple[int, int, int]) -> Synapses:
    """Synapses of ``Conv2DTranspose``; taps index ``(kh, kw, filter, c_in)`` (Keras order)."""
    ih, iw, ic = in_shape
    kh, kw = kernel
    sh, sw = strides
    oh, ow, _ = out_shape
    ph, pw = _leading_padding(in_shape, kernel, strides, padding)
    irow, icol, cin, krow, kcol, filt = np.meshgrid(
        np.arange(ih), np.arange(iw), np.arange(ic), np.arange(kh), np.arange(kw),
        np.arange(filters), indexing="ij")
    orow = irow * sh - ph + krow
    ocol = icol * sw - pw + kcol
    inside = (orow >= 0) & (orow < oh) & (ocol >= 0) & (ocol < ow)
    pre = (irow * iw + icol) * ic + cin
    post = (orow * ow + ocol) * filters + filt
    tap = ((krow * kw + kcol) * filters + filt) * ic + cin
    return _ordered(pre[inside], post[inside], tap[inside])


def pool_synapses(in_shape: tuple[int, int, int], pool: tuple[int, int],
                  strides: tuple[int, int]) -> Synapses:
    """Synapses of average pooling, channel to same channel; every tap is 0 (one shared weight)."""
    ih, iw, ic = in_shape
    kh, kw = pool
    sh, sw = strides
    oh, ow = conv_output(ih, kh, sh, "valid"), conv_output(iw, kw, sw, "valid")
    orow, ocol, krow, kcol, chan = np.meshgrid(
        np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), np.arange(ic),
        indexing="ij")
    pre = ((orow * sh + krow) * iw + ocol * sw + kcol) * ic + chan
    post = (orow * ow + ocol) * ic + chan
    return _ordered(pre.ravel(), post.ravel(), np.zeros(pre.size, dtype=np.int64))


def compose(first: Synapses, first_weight: float, second: Synapses,
            num_mid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Chain two linear maps with no non-linearity between them (pooling, then a layer).

    ``first`` must give every pre at most one mid neuron (pooling with
    strides >= pool size), so the chained synapses keep one tap each.
    Returns ``pre``, ``post``, ``tap`` and the scale of every chained synapse.
    """
    pre1, mid1, _ = first
    mid2, post2, tap2 = second
    order = np.argsort(mid2, kind="stable")
    mid2, post2, tap2 = mid2[order], post2[order], tap2[order]
    starts = np.searchsorted(mid2, np.arange(num_mid + 1))
    pieces_pre, pieces_post, pieces_tap = [], [], []
    for pre, mid in zip(pre1.tolist(), mid1.tolist(), strict=True):
        lo, hi = starts[mid], starts[mid + 1]
        pieces_pre.append(np.full(hi - lo, pre, dtype=np.int64))
        pieces_post.append(post2[lo:hi])
        pieces_tap.append(tap2[lo:hi])
    pre, post, tap = _ordered(np.concatenate(pieces_pre), np.concatenate(pieces_post),
                              np.concatenate(pieces_tap))
    return pre, post, tap, first_weight


def _ordered(pre: np.ndarray, post: np.ndarray, tap: np.ndarray) -> Synapses:
    """Sort synapses by (pre, post): the order GeNN builds rows in."""
    pre, post, tap = (np.asarray(a, dtype=np.int64).ravel() for a in (pre, post, tap))
    order = np.lexsort((post, pre))
    return pre[order], post[order], tap[order]


__all__ = ["compose", "conv_output", "conv_patches", "conv_synapses", "conv_transpose_synapses",
           "pool_synapses", "same_padding"]
