"""A software prefetch for the numba kernels: ask the CPU for a cache line before the loop reaches it.

The batch kernels read each path's prices front to back, but in bursts: four bars of sums, then a trade bar
of divisions that reads nothing new. The CPU's own prefetcher runs only a few lines ahead, so the memory bus
idles through the compute and the next burst waits for memory. Asking for the prices a few bars ahead
(:func:`prefetch_nb`, LLVM's ``llvm.prefetch``, ``prefetcht0`` on x86) keeps the reads streaming under the
compute: measured 6-16% off the batch kernel on two cores (``bench/bench_engine.py``). A prefetch is only a
hint: it never faults and changes no result.

Numba has no prefetch of its own; this is an ``@intrinsic``, compiled into the kernel that calls it. The
interpreted twins of the kernel modules (``theses.util.interpreted_twin``) never import this module.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# llvm.prefetch(address, rw = 0: read, locality = 3: keep in every cache level, cache type = 1: data).
_READ, _KEEP_EVERYWHERE, _DATA = 0, 3, 1


@intrinsic
def prefetch_nb(typingctx: Any, array: types.Array, row: types.Integer, byte: types.Integer) -> Any:
    """``prefetch_nb(array, row, byte)``: prefetch the cache line ``byte`` bytes past ``array[row, 0]``.

    ``array`` is a 2-D array; ``byte`` may run past the row into the next ones (C order). No bounds are checked:
    the caller keeps the address inside the array.
    """
    if not (isinstance(array, types.Array) and array.ndim == 2):
        return None
    sig = types.void(array, row, byte)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        row_index = context.cast(builder, args[1], signature.args[1], types.intp)
        offset = context.cast(builder, args[2], signature.args[2], types.intp)
        first = cgutils.get_item_pointer2(context, builder, data.data, cgutils.unpack_tuple(builder, data.shape),
                                          cgutils.unpack_tuple(builder, data.strides), array_type.layout,
                                          [row_index, context.get_constant(types.intp, 0)], wraparound=False,
                                          boundscheck=False)
        byte_ptr = ir.IntType(8).as_pointer()
        address = builder.gep(builder.bitcast(first, byte_ptr), [offset])
        i32 = ir.IntType(32)
        # The unmangled name: LLVM's auto-upgrade gives it the mangling of its version (typed or opaque pointers).
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32,
                                                                                                  i32]),
                                                  "llvm.prefetch")
        builder.call(function, [address, ir.Constant(i32, _READ), ir.Constant(i32, _KEEP_EVERYWHERE),
                                ir.Constant(i32, _DATA)])
        return context.get_dummy_value()

    return sig, codegen
