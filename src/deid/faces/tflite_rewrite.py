"""A TFLite model rewritten so OpenCV's TFLite importer can run it.

The pinned full-range BlazeFace model uses two ops that importer lacks:

* ``DENSIFY``: most 1x1 convolution kernels are sparse float16 constants expanded at
  load time. Each ``DENSIFY`` output becomes a constant holding the expanded values (in
  the sparse tensor's own type, so the ``DEQUANTIZE`` after it runs as in every other
  model) and the op is dropped. The weights are the same numbers.
* ``DEPTH_TO_SPACE`` (then ``RESHAPE``) at the end of both heads: the two ops are cut
  off, the tensor before them becomes the output, and ``Head.finish`` does the same
  rearrangement in numpy.

The flatbuffer is read and written with the TFLite schema module that MediaPipe ships
for its metadata tools (present from 0.10.x to 1.x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_VALUE_TYPES = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT8": np.int8, "UINT8": np.uint8}


class UnsupportedModelError(ValueError):
    """The model holds a sparse tensor, graph or head this rewrite does not handle."""


@dataclass(frozen=True)
class Head:
    """One model output: the tensor OpenCV computes and how it becomes the real output."""

    tensor: str
    block: int  # DEPTH_TO_SPACE block size (1: none)
    shape: tuple[int, ...]

    def finish(self, raw: np.ndarray) -> np.ndarray:
        """TFLite's DEPTH_TO_SPACE on OpenCV's NCHW or NHWC result, then the RESHAPE."""
        if self.block == 1:
            return raw.reshape(self.shape)
        b = self.block
        nhwc = _as_nhwc(raw, self.shape[-1] * b * b)
        n, h, w, c = nhwc.shape
        out = nhwc.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        return out.reshape(self.shape)


@dataclass(frozen=True)
class Rewritten:
    model: bytes
    heads: tuple[Head, ...]  # in the model's output order


def _as_nhwc(raw: np.ndarray, channels: int) -> np.ndarray:
    if raw.ndim == 4 and raw.shape[1] == channels and raw.shape[3] != channels:
        return raw.transpose(0, 2, 3, 1)
    return raw


def tflite_schema() -> Any:
    """The TFLite flatbuffer schema (object API) that MediaPipe ships."""
    from mediapipe.tasks.metadata import schema_py_generated

    return schema_py_generated


def opencv_ready(model: bytes) -> Rewritten:
    """``model`` without ``DENSIFY`` ops and without trailing ``DEPTH_TO_SPACE`` heads."""
    schema = tflite_schema()
    tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    if len(tree.subgraphs) != 1:
        raise UnsupportedModelError("expected a single-graph model")
    graph = tree.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in tree.operatorCodes]
    ops = schema.BuiltinOperator
    changed = _fold_densify(tree, graph, codes, schema)
    producer = {int(o): op for op in graph.operators for o in op.outputs}
    heads, cut = [], set()
    for out in graph.outputs:
        tensor = graph.tensors[out]
        shape = tuple(int(d) for d in tensor.shape)
        reshape = producer.get(int(out))
        before = producer.get(int(reshape.inputs[0])) if reshape is not None else None
        if (
            reshape is not None
            and before is not None
            and codes[reshape.opcodeIndex] == ops.RESHAPE
            and codes[before.opcodeIndex] == ops.DEPTH_TO_SPACE
        ):
            source = graph.tensors[before.inputs[0]]
            heads.append(Head(source.name.decode(), int(before.builtinOptions.blockSize), shape))
            cut.update({id(reshape), id(before)})
        else:
            heads.append(Head(tensor.name.decode(), 1, shape))
    if cut:
        graph.operators = [op for op in graph.operators if id(op) not in cut]
        names = {t.name.decode(): i for i, t in enumerate(graph.tensors)}
        graph.outputs = [names[h.tensor] for h in heads]
        changed = True
    if not changed:
        return Rewritten(model, tuple(heads))
    import flatbuffers

    builder = flatbuffers.Builder(len(model) * 3)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return Rewritten(bytes(builder.Output()), tuple(heads))


def _fold_densify(tree: Any, graph: Any, codes: list[int], schema: Any) -> bool:
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    kept, changed = [], False
    for op in graph.operators:
        if codes[op.opcodeIndex] != schema.BuiltinOperator.DENSIFY:
            kept.append(op)
            continue
        source = graph.tensors[op.inputs[0]]
        target = graph.tensors[op.outputs[0]]
        dtype = _VALUE_TYPES.get(type_names.get(source.type, ""))
        if dtype is None or source.sparsity is None:
            raise UnsupportedModelError("DENSIFY input is not a sparse numeric constant")
        values = np.frombuffer(bytes(tree.buffers[source.buffer].data), dtype=dtype)
        dense = expand(values, [int(d) for d in source.shape], source.sparsity, schema)
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(dense.astype(dtype).tobytes(), dtype=np.uint8)
        tree.buffers.append(buffer)
        # A fresh buffer: the output's own may be shared with other activations.
        target.buffer = len(tree.buffers) - 1
        changed = True
    graph.operators = kept
    return changed


def expand(values: np.ndarray, shape: list[int], sparsity: Any, schema: Any) -> np.ndarray:
    """The dense array of a TFLite sparse tensor (TFLite's ``FormatConverter`` order).

    The traversal walks the levels in ``traversal_order``: a dense level enumerates its
    ``dense_size`` positions, a CSR level the indices its segment lists for the parent
    position. Every path to the last level is one stored value, in storage order.
    Blocked dimensions (``block_map``) fold back into their original dimension.
    """
    order = [int(d) for d in sparsity.traversalOrder]
    block_map = [] if sparsity.blockMap is None else [int(d) for d in sparsity.blockMap]
    levels = sparsity.dimMetadata
    if len(order) != len(levels) or len(order) != len(shape) + len(block_map):
        raise UnsupportedModelError("sparsity metadata does not match the tensor's rank")
    columns: list[np.ndarray] = []
    parent = np.zeros(1, dtype=np.int64)  # position in the previous level, per path
    block_sizes: list[int] = []
    for level in levels:
        if level.format == schema.DimensionType.DENSE:
            size, paths = int(level.denseSize), parent.size
            parent = (parent[:, None] * size + np.arange(size)).ravel()
            columns = [np.repeat(c, size) for c in columns]
            columns.append(np.tile(np.arange(size), paths))
            block_sizes.append(size)
        else:
            segments = np.asarray(level.arraySegments.values, dtype=np.int64)
            indices = np.asarray(level.arrayIndices.values, dtype=np.int64)
            if parent.size and parent.max() + 1 >= segments.size:
                raise UnsupportedModelError("CSR segments shorter than the parent level")
            starts, ends = segments[parent], segments[parent + 1]
            counts = ends - starts
            first = np.repeat(starts - (np.cumsum(counts) - counts), counts)
            child = np.arange(int(counts.sum())) + first
            if child.size and child.max() >= indices.size:
                raise UnsupportedModelError("CSR indices shorter than the segments say")
            columns = [np.repeat(c, counts) for c in columns]
            columns.append(indices[child])
            parent = child
            block_sizes.append(0)
    if values.size != parent.size:
        raise UnsupportedModelError("sparse tensor holds a different number of values")
    rank = len(shape)
    original = [np.zeros(values.size, dtype=np.int64) for _ in range(rank)]
    for i in range(rank):
        original[order[i]] = columns[i]
    for i in range(rank, len(order)):
        block = order[i] - rank
        dim = block_map[block]
        original[dim] = original[dim] * block_sizes[i] + columns[i]
    dense = np.zeros(int(np.prod(shape)), dtype=values.dtype)
    dense[np.ravel_multi_index(original, shape)] = values
    return dense.reshape(shape)
