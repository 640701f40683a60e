"""``tensorflow.TensorProto`` ↔ numpy, as TensorFlow's ``make_ndarray``/``make_tensor_proto`` do.

A tensor's values arrive either packed little-endian in ``tensor_content`` or in the typed
field that matches ``dtype`` (``float_val``, ``int_val``, ``string_val``, ...). In the typed
form fewer values than the shape holds means "repeat the last one" (TensorFlow's rule), and no
values means zeros. Going out, numeric arrays use ``tensor_content`` and strings use
``string_val``, which is what TensorFlow clients send and expect.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from emulator.accel.proto import tensor_pb2, tensor_shape_pb2, types_pb2


class TensorError(ValueError):
    """A TensorProto that cannot become an array (or an array that cannot be sent)."""


#: DataType → numpy dtype (DT_STRING → object arrays of bytes).
NUMPY_DTYPES: dict[int, np.dtype[Any]] = {
    types_pb2.DT_FLOAT: np.dtype(np.float32),
    types_pb2.DT_DOUBLE: np.dtype(np.float64),
    types_pb2.DT_INT32: np.dtype(np.int32),
    types_pb2.DT_UINT8: np.dtype(np.uint8),
    types_pb2.DT_INT16: np.dtype(np.int16),
    types_pb2.DT_INT8: np.dtype(np.int8),
    types_pb2.DT_STRING: np.dtype(object),
    types_pb2.DT_COMPLEX64: np.dtype(np.complex64),
    types_pb2.DT_INT64: np.dtype(np.int64),
    types_pb2.DT_BOOL: np.dtype(np.bool_),
    types_pb2.DT_UINT16: np.dtype(np.uint16),
    types_pb2.DT_COMPLEX128: np.dtype(np.complex128),
    types_pb2.DT_HALF: np.dtype(np.float16),
    types_pb2.DT_UINT32: np.dtype(np.uint32),
    types_pb2.DT_UINT64: np.dtype(np.uint64),
}

#: numpy dtype → DataType.
DATA_TYPES: dict[np.dtype[Any], int] = {
    dtype: data_type for data_type, dtype in NUMPY_DTYPES.items() if dtype != np.dtype(object)
}

# The typed field that holds each dtype's values.
_FIELDS: dict[int, str] = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_STRING: "string_val",
    types_pb2.DT_COMPLEX64: "scomplex_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_BOOL: "bool_val",
    types_pb2.DT_COMPLEX128: "dcomplex_val",
    types_pb2.DT_HALF: "half_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
}


def dtype_name(data_type: int) -> str:
    """``DT_FLOAT``-style name of a DataType value (or the number when unknown)."""
    try:
        return types_pb2.DataType.Name(data_type)
    except ValueError:
        return str(data_type)


def shape_of(proto: tensor_pb2.TensorProto) -> tuple[int, ...] | None:
    """The declared shape; None when the rank is unknown."""
    if proto.tensor_shape.unknown_rank:
        return None
    return tuple(int(dim.size) for dim in proto.tensor_shape.dim)


def to_numpy(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The array a TensorProto holds (``TensorError`` with the reason when it cannot)."""
    dtype = NUMPY_DTYPES.get(proto.dtype)
    if dtype is None:
        supported = ", ".join(sorted(dtype_name(t) for t in NUMPY_DTYPES))
        raise TensorError(f"dtype {dtype_name(proto.dtype)} is not supported; use {supported}")
    shape = shape_of(proto)
    if shape is not None and any(size < 0 for size in shape):
        raise TensorError(f"shape {list(shape)} has unknown (-1) dimensions; send concrete sizes")
    if proto.tensor_content and proto.dtype != types_pb2.DT_STRING:
        return _from_content(proto.tensor_content, dtype, shape)
    values = _typed_values(proto, dtype)
    if shape is None:
        return values
    count = int(np.prod(shape, dtype=np.int64))
    if values.size == count:
        return values.reshape(shape)
    if values.size == 0:
        if dtype == np.dtype(object):
            return np.full(shape, b"", dtype=object)
        return np.zeros(shape, dtype=dtype)
    if values.size < count:
        padded = np.empty(count, dtype=dtype)
        padded[: values.size] = values
        padded[values.size :] = values[-1]
        return padded.reshape(shape)
    raise TensorError(f"{values.size} values do not fit shape {list(shape)} ({count} elements)")


def _from_content(
    content: bytes, dtype: np.dtype[Any], shape: tuple[int, ...] | None
) -> np.ndarray:
    little = dtype.newbyteorder("<")
    if len(content) % little.itemsize:
        raise TensorError(
            f"tensor_content has {len(content)} bytes, not a multiple of {little.itemsize} "
            f"({dtype.name})"
        )
    array = np.frombuffer(content, dtype=little).astype(dtype, copy=False)
    if shape is None:
        return array
    count = int(np.prod(shape, dtype=np.int64))
    if array.size != count:
        raise TensorError(
            f"tensor_content holds {array.size} {dtype.name} values but shape {list(shape)} "
            f"needs {count}"
        )
    return array.reshape(shape)


def _typed_values(proto: tensor_pb2.TensorProto, dtype: np.dtype[Any]) -> np.ndarray:
    field = _FIELDS[proto.dtype]
    raw = getattr(proto, field)
    if proto.dtype == types_pb2.DT_STRING:
        array = np.empty(len(raw), dtype=object)
        array[:] = list(raw)
        return array
    if proto.dtype == types_pb2.DT_HALF:
        return np.asarray(list(raw), dtype=np.uint16).view(np.float16)
    if proto.dtype in (types_pb2.DT_COMPLEX64, types_pb2.DT_COMPLEX128):
        pairs = np.asarray(list(raw), dtype=np.float64).reshape(-1, 2)
        return (pairs[:, 0] + 1j * pairs[:, 1]).astype(dtype)
    return np.asarray(list(raw), dtype=dtype)


def from_numpy(value: Any) -> tensor_pb2.TensorProto:
    """A TensorProto for an array (or anything ``np.asarray`` takes); strings → ``string_val``."""
    array = np.asarray(value)
    proto = tensor_pb2.TensorProto()
    proto.tensor_shape.CopyFrom(make_shape(array.shape))
    if array.dtype.kind in "OSU":
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(_as_bytes(item) for item in array.reshape(-1))
        return proto
    data_type = DATA_TYPES.get(array.dtype.newbyteorder("="))
    if data_type is None:
        supported = ", ".join(sorted(str(d) for d in DATA_TYPES))
        raise TensorError(f"numpy dtype {array.dtype} has no TensorProto type; use {supported}")
    proto.dtype = data_type  # type: ignore[assignment]
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    if sys.byteorder != "little" or not little.flags.c_contiguous:
        little = np.ascontiguousarray(little)
    proto.tensor_content = little.tobytes()
    return proto


def make_shape(shape: tuple[int, ...]) -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(size)) for size in shape]
    )


def _as_bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    raise TensorError(f"string tensors hold bytes or str, not {type(item).__name__}")
