"""Repairs Kokoro-82M's int8 ONNX model once, at set-up.

The shipped model quantises every activation on the fly (DynamicQuantizeLinear feeding
ConvInteger / MatMulInteger); on some inputs that blows a clip up into near-silence with a
loud burst. This rewrites each such pair into a float Conv / MatMul fed by DequantizeLinear
of the very same int8 weights (so the file stays about the same size), and drops the nodes
left unused. Usage: repair_kokoro.py IN.onnx OUT.onnx
"""

import sys

import onnx
from onnx import helper


def repair(model: onnx.ModelProto) -> int:
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    dequantized: dict[str, str] = {}
    replaced = {}  # id(node) -> the nodes that take its place
    dropped = set()
    for n in graph.node:
        if n.op_type not in ("ConvInteger", "MatMulInteger"):
            continue
        x_q, w_q, _x_zp, w_zp = n.input
        quantize = producer[x_q]
        assert quantize.op_type == "DynamicQuantizeLinear", quantize.op_type
        x = quantize.input[0]
        (after,) = consumers[n.output[0]]
        bias = None
        if after.op_type == "Add":
            # The float bias, quantised on the fly: Reshape(Cast(Floor(Div(bias, scale)))).
            reshape = producer[after.input[1]]
            divide = producer[producer[producer[reshape.input[0]].input[0]].input[0]]
            assert divide.op_type == "Div", divide.op_type
            bias = divide.input[0]
            assert bias in initializers
            dropped.add(id(after))
            (after,) = consumers[after.output[0]]
        cast = after
        assert cast.op_type == "Cast", cast.op_type
        (scale_mul,) = consumers[cast.output[0]]
        assert scale_mul.op_type == "Mul", scale_mul.op_type
        scales = producer[scale_mul.input[1]]
        assert scales.op_type == "Mul", scales.op_type
        (w_scale,) = [i for i in scales.input if i in initializers]
        assert w_q in initializers and w_zp in initializers

        new = []
        if w_q not in dequantized:
            w_f = w_q + "_float"
            axis = 0 if n.op_type == "ConvInteger" else 1
            new.append(
                helper.make_node(
                    "DequantizeLinear", [w_q, w_scale, w_zp], [w_f], name=w_f, axis=axis
                )
            )
            dequantized[w_q] = w_f
        float_op = "Conv" if n.op_type == "ConvInteger" else "MatMul"
        inputs = [x, dequantized[w_q]] + ([bias] if bias else [])
        node = helper.make_node(float_op, inputs, [scale_mul.output[0]], name=n.name + "_float")
        if float_op == "Conv":
            node.attribute.extend(n.attribute)
        new.append(node)
        replaced[id(n)] = new
        dropped.update({id(cast), id(scale_mul)})

    nodes = []
    for n in graph.node:
        if id(n) in replaced:
            nodes.extend(replaced[id(n)])
        elif id(n) not in dropped:
            nodes.append(n)

    # Drop what nothing reads any more (the quantisers and their scale products).
    while True:
        read = {i for n in nodes for i in n.input} | {o.name for o in graph.output}
        kept = [n for n in nodes if any(o in read for o in n.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    del graph.node[:]
    graph.node.extend(nodes)
    read = {i for n in nodes for i in n.input}
    unused = [i for i in graph.initializer if i.name not in read]
    for i in unused:
        graph.initializer.remove(i)
    return len(replaced)


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    model = onnx.load(source)
    count = repair(model)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    print(f"repaired {count} quantised layers", file=sys.stderr)


if __name__ == "__main__":
    main()
