"""Walking Keras graph models, shared by Grad-CAM and the attention maps.

`walk` lists every layer of a functional model, nested graph models
included, with the chain of models that holds it; `prefix` and `suffix`
turn such a chain into functions from the outer model's inputs to the
inner model's inputs, and from the inner model's outputs to the outer
model's outputs, so a feature map deep inside can be reached and carried
on to the logits.
"""

from __future__ import annotations

from collections.abc import Callable

import keras


def is_graph_model(layer) -> bool:
    """A functional/sequential model whose layers form a graph."""
    return isinstance(layer, keras.Sequential) or (
        isinstance(layer, keras.Model) and hasattr(layer, "_nodes")
    )


def walk(model, chain=()):
    """Yields `(chain, layer)` for every layer, depth first; `chain` is the
    tuple of graph models from `model` down to the layer's container."""
    chain = (*chain, model)
    for layer in model.layers:
        yield chain, layer
        if is_graph_model(layer):
            yield from walk(layer, chain)


def node_in(container, layer):
    """The node where `layer` is called inside `container`'s graph."""
    nodes = getattr(container, "_nodes", ())
    for node in layer._inbound_nodes:
        if node in nodes:
            return node
    return layer._inbound_nodes[0]


def output_in(container, layer):
    """`layer`'s (single) output tensor in `container`'s graph."""
    if isinstance(layer, keras.layers.InputLayer):
        return layer.output
    outputs = node_in(container, layer).output_tensors
    return outputs[0] if isinstance(outputs, list | tuple) else outputs


def inputs_in(container, layer) -> list:
    """`layer`'s input tensors in `container`'s graph."""
    return list(node_in(container, layer).input_tensors)


def sub_model(inputs, outputs):
    """`keras.Model(inputs, outputs)`, or the identity when the outputs are
    the inputs themselves."""
    inputs = list(inputs)
    outs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
    if len(inputs) == len(outs) and all(
        a is b for a, b in zip(inputs, outs, strict=True)
    ):
        return lambda *xs: xs[0] if len(xs) == 1 else list(xs)
    model = keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outs[0] if len(outs) == 1 else outs,
    )
    return lambda *xs: model(xs[0] if len(xs) == 1 else list(xs))


def prefix(chain) -> Callable:
    """Maps the outer model's inputs to the inputs of `chain[-1]`."""
    funcs = []
    for outer, inner in zip(chain[:-1], chain[1:], strict=True):
        funcs.append(sub_model(outer.inputs, inputs_in(outer, inner)))

    def run(x):
        for f in funcs:
            x = f(x)
        return x

    return run


def suffix(chain) -> Callable:
    """Maps `chain[-1]`'s outputs to the outer model's outputs."""
    funcs = []
    for outer, inner in zip(chain[:-1], chain[1:], strict=True):
        funcs.append(sub_model([output_in(outer, inner)], outer.outputs))
    funcs.reverse()

    def run(y):
        for f in funcs:
            y = f(y)
        return y

    return run
