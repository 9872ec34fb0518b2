"""Loop-level reference maps of convolution and pooling, written from their definitions."""

from __future__ import annotations

import numpy as np


def same_pad(n, k, s):
    return max(k - (s if n % s == 0 else n % s), 0) // 2


def conv(x, kernel, strides=(1, 1), padding="valid"):
    """Cross-correlation of ``x`` (h, w, c) with ``kernel`` (kh, kw, c, f), channels last."""
    h, w, _ = x.shape
    kh, kw, _, f = kernel.shape
    sh, sw = strides
    if padding == "valid":
        oh, ow, ph, pw = -(-(h - kh + 1) // sh), -(-(w - kw + 1) // sw), 0, 0
    else:
        oh, ow = -(-h // sh), -(-w // sw)
        ph, pw = same_pad(h, kh, sh), same_pad(w, kw, sw)
    out = np.zeros((oh, ow, f))
    for r in range(oh):
        for c in range(ow):
            for i in range(kh):
                for j in range(kw):
                    y, z = r * sh - ph + i, c * sw - pw + j
                    if 0 <= y < h and 0 <= z < w:
                        out[r, c] += x[y, z] @ kernel[i, j]
    return out


def conv_transpose(x, kernel, strides, padding, out_hw):
    """Transposed convolution: every input pixel scatters ``kernel`` (kh, kw, f, c)."""
    h, w, _ = x.shape
    kh, kw, f, _ = kernel.shape
    sh, sw = strides
    ph, pw = (same_pad(h, kh, sh), same_pad(w, kw, sw)) if padding == "same" else (0, 0)
    out = np.zeros((*out_hw, f))
    for r in range(h):
        for c in range(w):
            for i in range(kh):
                for j in range(kw):
                    y, z = r * sh - ph + i, c * sw - pw + j
                    if 0 <= y < out_hw[0] and 0 <= z < out_hw[1]:
                        out[y, z] += kernel[i, j] @ x[r, c]
    return out


def avg_pool(x, size):
    h, w, c = x.shape
    return x.reshape(h // size[0], size[0], w // size[1], size[1], c).mean(axis=(1, 3))


def tie_sum(connectivity, dense_grad):
    """Sum a dense gradient over the positions sharing each kernel entry, entry by entry.

    Probes the connectivity with one-hot kernels: the positions a kernel
    entry reaches are where its expansion is non-zero.
    """
    grad = np.zeros(connectivity.kernel_shape)
    for entry in np.ndindex(*connectivity.kernel_shape):
        onehot = np.zeros(connectivity.kernel_shape, np.float32)
        onehot[entry] = 1.0
        grad[entry] = (connectivity.expand(onehot) * dense_grad).sum()
    return grad
