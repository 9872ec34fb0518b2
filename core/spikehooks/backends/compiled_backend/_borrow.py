"""Borrowed array views for compiled loops: no reference counting inside the hot loop.

numba counts references to every array with atomic instructions, and when
an inlined helper binds an array argument it raises and later lowers the
count.  A step of a small network binds dozens of arrays, and those atomics
took over half of its time.  :func:`borrowed` gives a view of an array with
no owner (a null ``meminfo``): numba's reference counting skips it.  The
caller must keep the original array alive while the view is used, which a
kernel does by holding its own arguments for the whole call.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def borrowed(typingctx, arr):  # type: ignore[no-untyped-def]
    """A view of ``arr`` (same data, shape and strides) that numba does not count.

    Use it only inside compiled code, and only while ``arr`` itself is alive.
    """
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        src = context.make_array(arr)(context, builder, value=args[0])
        view = context.make_array(arr)(context, builder)
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        view.nitems = src.nitems
        view.itemsize = src.itemsize
        view.data = src.data
        view.shape = src.shape
        view.strides = src.strides
        return view._getvalue()

    return arr(arr), codegen


__all__ = ["borrowed"]
