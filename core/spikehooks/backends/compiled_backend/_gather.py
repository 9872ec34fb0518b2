"""Spike ids from spike flags, 64 flags per mask: the compiled loop's id lists.

A population's update writes one bool per neuron; delivery and the spike
records want the ids of the neurons that fired, ascending.  A branch-free
scan of the flags costs a cycle or more per neuron (about a quarter of the
784-input inference step).  :func:`gather` packs 64 flags into one 64-bit
mask (eight 8-byte loads, each turned into 8 bits by one multiplication)
and then takes one iteration per spike, finding each with a count of
trailing zeros: the cost follows the spikes, not the neurons (in isolation
about 1.5x faster at 10 % of the neurons firing, 2.5x at 1 %).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

#: ``(word * _MAGIC) >> 56`` turns eight 0/1 bytes (byte k = flag k) into an
#: 8-bit mask with bit k = flag k: byte k's partial product lands on bit 56 + k
#: and every other partial product on a distinct lower bit or past bit 63, so
#: no carry reaches the top byte.
_MAGIC = np.uint64(0x0102040810204080)
_SHIFT = np.uint64(56)


@intrinsic
def load_flags(typingctx, flags, i):  # type: ignore[no-untyped-def]
    """The eight bools ``flags[i:i + 8]`` as one uint64 (byte k: ``flags[i + k]``).

    An unaligned 8-byte load of a contiguous bool array; the caller ensures
    ``i + 8 <= len(flags)``.
    """
    if not (isinstance(flags, types.Array) and flags.dtype == types.boolean
            and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        arr = context.make_array(signature.args[0])(context, builder, value=args[0])
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        byte_ptr = builder.bitcast(arr.data, ir.IntType(8).as_pointer())
        word_ptr = builder.bitcast(builder.gep(byte_ptr, [index]), ir.IntType(64).as_pointer())
        return builder.load(word_ptr, align=1)

    return types.uint64(flags, i), codegen


@intrinsic
def lowest_bit(typingctx, word):  # type: ignore[no-untyped-def]
    """The index of the lowest set bit of a nonzero uint64 ``word`` (LLVM's cttz)."""
    if not (isinstance(word, types.Integer) and word.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.uint64(word), codegen


@njit(cache=True, nogil=True, inline='always')
def _mask(fired, i, n):
    """Flags ``fired[i:min(i + 64, n)]`` as a mask, bit k = ``fired[i + k]``."""
    bits = np.uint64(0)
    w = 0
    while w < 8 and i + 8 * w + 8 <= n:
        byte_mask = (load_flags(fired, i + 8 * w) * _MAGIC) >> _SHIFT
        bits |= byte_mask << np.uint64(8 * w)
        w += 1
    k = 8 * w
    while k < 64 and i + k < n:
        bits |= np.uint64(1 if fired[i + k] else 0) << np.uint64(k)
        k += 1
    return bits


@njit(cache=True, nogil=True, inline='always')
def gather(fired, ids):
    """Write the indices of ``fired``'s True entries to ``ids``, ascending; return their count.

    Parameters
    ----------
    fired : numpy.ndarray of bool, shape (n,), contiguous
        One flag per neuron (each byte 0 or 1, as numpy and numba store bools).
    ids : numpy.ndarray of int64, shape (at least n,)
        Receives the ids in ``ids[:count]``.

    Returns
    -------
    int
        ``count``, how many flags are set.
    """
    n = fired.shape[0]
    count = 0
    for i in range(0, n, 64):
        bits = _mask(fired, i, n)
        while bits != 0:
            ids[count] = i + np.int64(lowest_bit(bits))
            count += 1
            bits &= bits - np.uint64(1)
    return count


__all__ = ["gather", "load_flags", "lowest_bit"]
