"""The full-range BlazeFace graph as a size-free ONNX model for onnxruntime.

BlazeFace is convolutions, pads, additions and three 2x bilinear upsamplings up to
the two heads: nothing in it needs the 192 px input except the upsamplings' fixed
output sizes, written here as scale factors. onnxruntime already ships with deid (the
OCR engine) and runs the graph with less CPU than MediaPipe Tasks; OpenCV DNN, the
other engine that reads TFLite, runs it 2-3x slower (``blazeface_ort.py``).

Input: NCHW float32 in [-1, 1], any batch, height and width multiples of 32 (the
graph halves five times). Outputs: the two head tensors before ``DEPTH_TO_SPACE``
(``tflite_rewrite.Head``), in NCHW.

The ONNX protobuf is written here field by field (the handful of messages a graph
needs); the ``onnx`` package is not a dependency.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tflite_rewrite import Head, UnsupportedModelError, opencv_ready, tflite_schema

OPSET = 13
IR_VERSION = 7
_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING, _ATTR_INTS = 1, 2, 3, 7  # AttributeProto.type
INPUT_NAME = "input"


# -- protobuf wire format ----------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64 as two's complement
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _float(number: int, value: float) -> bytes:
    return _varint(number << 3 | 5) + struct.pack("<f", value)


def _attribute(name: str, value: Any) -> bytes:
    if isinstance(value, str):
        return _bytes(1, name) + _bytes(4, value) + _int(20, _ATTR_STRING)
    if isinstance(value, float):
        return _bytes(1, name) + _float(2, value) + _int(20, _ATTR_FLOAT)
    if isinstance(value, int):
        return _bytes(1, name) + _int(3, value) + _int(20, _ATTR_INT)
    ints = b"".join(_int(8, int(v)) for v in value)
    return _bytes(1, name) + ints + _int(20, _ATTR_INTS)


def _tensor(name: str, array: np.ndarray) -> bytes:
    kind = _INT64 if array.dtype == np.int64 else _FLOAT
    data = np.ascontiguousarray(array, np.int64 if kind == _INT64 else np.float32)
    dims = b"".join(_int(1, d) for d in data.shape)
    return dims + _int(2, kind) + _bytes(8, name) + _bytes(9, data.tobytes())


def _value_info(name: str, dims: tuple[int | str, ...]) -> bytes:
    shape = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    tensor_type = _int(1, _FLOAT) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


@dataclass
class _Graph:
    nodes: list[bytes] = field(default_factory=list)
    initializers: list[bytes] = field(default_factory=list)
    count: int = 0

    def constant(self, array: np.ndarray) -> str:
        self.count += 1
        name = f"c{self.count}"
        self.initializers.append(_tensor(name, array))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> None:
        self.count += 1
        body = b"".join(_bytes(1, i) for i in inputs) + _bytes(2, output)
        body += _bytes(3, f"n{self.count}") + _bytes(4, op)
        body += b"".join(_bytes(5, _attribute(k, v)) for k, v in attrs.items())
        self.nodes.append(body)


@dataclass(frozen=True)
class Exported:
    model: bytes
    heads: tuple[Head, ...]  # output names are the heads' tensor names


def size_free_onnx(tflite_model: bytes) -> Exported:
    """The pinned full-range BlazeFace TFLite model as an ONNX model of any input size
    (multiples of 32). Raises ``UnsupportedModelError`` on an op it does not know."""
    rewritten = opencv_ready(tflite_model)
    schema = tflite_schema()
    tree = schema.ModelT.InitFromPackedBuf(bytearray(rewritten.model), 0)
    graph = tree.subgraphs[0]
    ops = schema.BuiltinOperator
    names = {v: k for k, v in vars(ops).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in tree.operatorCodes]
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    out = _Graph()
    values: dict[int, np.ndarray] = {}  # constant tensors, by TFLite index
    tensor_name = {graph.inputs[0]: INPUT_NAME}

    def constant(index: int) -> np.ndarray:
        if index in values:
            return values[index]
        tensor = graph.tensors[index]
        data = tree.buffers[tensor.buffer].data
        if data is None or len(data) == 0:
            raise UnsupportedModelError(f"tensor {index} is neither computed nor constant")
        dtype = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32}
        kind = dtype.get(types.get(tensor.type, ""))
        if kind is None:
            raise UnsupportedModelError("constant of an unsupported type")
        shape = [int(d) for d in tensor.shape]
        return np.frombuffer(bytes(data), dtype=kind).reshape(shape)

    def name(index: int) -> str:
        return tensor_name[index]

    def output(index: int) -> str:
        tensor_name[index] = graph.tensors[index].name.decode()
        return tensor_name[index]

    for op in graph.operators:
        kind = names.get(codes[op.opcodeIndex], "?")
        inputs, result = [int(i) for i in op.inputs], int(op.outputs[0])
        options = op.builtinOptions
        if kind == "DEQUANTIZE":
            values[result] = constant(inputs[0]).astype(np.float32)
        elif kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weights = constant(inputs[1]).astype(np.float32)
            bias = constant(inputs[2]).astype(np.float32)
            depthwise = kind == "DEPTHWISE_CONV_2D"
            if depthwise and options.depthMultiplier != 1:
                raise UnsupportedModelError("depthwise multiplier other than 1")
            # TFLite OHWI (depthwise 1HWC) to ONNX OIHW (depthwise C1HW, one group each).
            kernel = weights.transpose(3, 0, 1, 2) if depthwise else weights.transpose(0, 3, 1, 2)
            kh, kw = kernel.shape[2:]
            if options.padding == schema.Padding.SAME:
                if options.strideH != 1 or options.strideW != 1:
                    raise UnsupportedModelError("SAME padding with a stride")
                top, left = (kh - 1) // 2, (kw - 1) // 2
                pads = [top, left, kh - 1 - top, kw - 1 - left]
            else:
                pads = [0, 0, 0, 0]
            if options.dilationHFactor != 1 or options.dilationWFactor != 1:
                raise UnsupportedModelError("dilated convolution")
            conv = output(result)
            target = conv + "/pre" if options.fusedActivationFunction else conv
            out.node(
                "Conv", [name(inputs[0]), out.constant(kernel), out.constant(bias)], target,
                kernel_shape=[kh, kw], strides=[options.strideH, options.strideW], pads=pads,
                group=kernel.shape[0] if depthwise else 1,
            )  # fmt: skip
            _activation(out, options.fusedActivationFunction, target, conv)
        elif kind == "ADD":
            total = output(result)
            target = total + "/pre" if options.fusedActivationFunction else total
            out.node("Add", [name(inputs[0]), name(inputs[1])], target)
            _activation(out, options.fusedActivationFunction, target, total)
        elif kind == "PAD":
            pads = constant(inputs[1]).astype(np.int64)  # NHWC (before, after) pairs
            nchw = pads[[0, 3, 1, 2]]
            flat = np.concatenate([nchw[:, 0], nchw[:, 1]])
            out.node("Pad", [name(inputs[0]), out.constant(flat)], output(result))
        elif kind == "RESIZE_BILINEAR":
            if options.alignCorners or not options.halfPixelCenters:
                raise UnsupportedModelError("bilinear resize without half-pixel centres")
            # The fixed output size becomes a factor: 2 in every model of this family.
            before = [int(d) for d in graph.tensors[inputs[0]].shape[1:3]]
            after = [int(d) for d in constant(inputs[1])]
            factors = [a / b for a, b in zip(after, before, strict=True)]
            scales = np.array([1.0, 1.0, *factors], dtype=np.float32)
            out.node(
                "Resize", [name(inputs[0]), "", out.constant(scales)], output(result),
                mode="linear", coordinate_transformation_mode="half_pixel",
            )  # fmt: skip
        else:
            raise UnsupportedModelError(f"op {kind} has no ONNX form here")
    heads = rewritten.heads
    body = b"".join(_bytes(1, n) for n in out.nodes) + _bytes(2, "blazeface")
    body += b"".join(_bytes(5, t) for t in out.initializers)
    body += _bytes(11, _value_info(INPUT_NAME, ("n", 3, "height", "width")))
    for head in heads:
        if head.tensor not in tensor_name.values():
            raise UnsupportedModelError("a head is not computed by the graph")
        body += _bytes(12, _value_info(head.tensor, ("n", "c", "h", "w")))
    model = _int(1, IR_VERSION) + _bytes(2, "deid") + _bytes(7, body)
    model += _bytes(8, _bytes(1, "") + _int(2, OPSET))
    return Exported(model, heads)


def _activation(graph: _Graph, fused: int, source: str, target: str) -> None:
    if fused == 0:
        return
    if fused != 1:  # ActivationFunctionType.RELU
        raise UnsupportedModelError("fused activation other than ReLU")
    graph.node("Relu", [source], target)
