"""EventProp's backward pass through tied (convolution, pooling) connectivity.

The dense sweep of :mod:`._backward` would need the ``(n_pre, n_post)``
matrix a kernel stands for, and a per-example gradient of that size.  A tied
connection instead uses the row tables of
:class:`spikehooks.connectivity.TiedConnectivity` (``row_post``, ``row_tap``:
for each presynaptic neuron the targets and kernel entries of its synapses,
padded with the spill slot ``n_post`` and tap 0) for both places where the
weights enter the sweep:

- the kernel gradient: a spike of neuron ``i`` (step ``n``) adds
  ``scale * b[n + 1][row_post[i]]`` to the kernel entries ``row_tap[i]``, so
  each example's gradient has the kernel's size, not the dense matrix's;
- the adjoint through the transpose (the spike-time jump):
  ``sum_j u_j W[i, j] = scale * sum_s u[row_post[i, s]] kernel[row_tap[i, s]]``.

The result equals the dense gradient summed over the synapses sharing each
kernel entry (``TiedConnectivity.reduce``) up to float64 rounding: the same
products, added in another order.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TiedAdjoint:
    """What the sweep needs of one tied connection.

    Parameters
    ----------
    connectivity : TiedConnectivity
        Bound (``row_post``, ``row_tap``, ``scale``, ``kernel_shape`` set).
    kernel : numpy.ndarray of float32, shape ``connectivity.kernel_shape``
        The connection's weights.
    """

    def __init__(self, connectivity: Any, kernel: np.ndarray):
        self.row_post = connectivity.row_post
        self.row_tap = connectivity.row_tap
        self.scale = float(connectivity.scale)
        self.num_taps = int(np.prod(connectivity.kernel_shape))
        self.num_post = int(connectivity.num_post)
        # Float64 synapse weights of every row, in the row table's layout (padding
        # slots point at tap 0 but meet the zero spill column of u or b).
        # The float32 products the dense matrix holds (TiedConnectivity.expand), in float64.
        flat = np.asarray(kernel, dtype=np.float32).reshape(-1)
        self.row_weight = (flat[self.row_tap] * np.float32(self.scale)).astype(np.float64)

    def zeros(self, batch: int) -> np.ndarray:
        """Per-example kernel gradients: float64, shape (batch, kernel entries)."""
        return np.zeros((batch, self.num_taps))

    def _gather(self, values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``values[rows[k], row_post[cols[k]]]`` (0 in padding slots): float64 (k, width).

        ``values`` (batch, n_post) gets a zero spill column once, so the cost is
        that of the synapses of the spiking neurons, not ``k x n_post``.
        """
        padded = np.zeros((values.shape[0], self.num_post + 1))
        padded[:, :self.num_post] = values
        return padded[rows[:, None], self.row_post[cols]]

    def add_gradient(self, grad: np.ndarray, b: np.ndarray, rows: np.ndarray,
                     cols: np.ndarray) -> None:
        """Add the kernel gradient of spikes ``(rows, cols)`` (example, pre neuron) to ``grad``.

        ``b`` (batch, n_post) holds ``dL/dJ`` of the step after the spikes.
        """
        if not len(rows):
            return
        values = self._gather(b, rows, cols)
        flat = rows[:, None] * self.num_taps + self.row_tap[cols]
        grad += np.bincount(flat.ravel(), weights=(values * self.scale).ravel(),
                            minlength=grad.size).reshape(grad.shape)

    def feedback(self, b_later: np.ndarray, b: np.ndarray, rows: np.ndarray,
                 cols: np.ndarray, dt: float) -> np.ndarray:
        """The jump's ``sum_j u[k, j] W[cols[k], j]`` for every spike ``k``: float64 (k,).

        ``u = -(b_later - b) / dt`` (the spike-delay rate of :mod:`._backward`),
        evaluated only at the targets of each spiking neuron's synapses.
        """
        u = (self._gather(b_later, rows, cols) - self._gather(b, rows, cols)) * (-1.0 / dt)
        return np.einsum("ks,ks->k", u, self.row_weight[cols])


__all__ = ["TiedAdjoint"]
