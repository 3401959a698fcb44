"""`Conv2D`: Keras' convolution, with a way round a slow XLA:CPU path.

XLA's CPU compiler swaps the operands of a convolution whose kernel is
larger than its input in every spatial dimension (e.g. a 3x3 conv on the
2x2 maps of a ResNet's last stage at 64x64 input), and runs the swapped
form about 100x slower than the same work as a matrix product (measured
on 32x2x2x512 -> 512, 3x3: 1101 ms against 9.7 ms per predict call, and
1128 ms against 20 ms per training step, with
`KERAS_BACKEND=jax python -m benchmarks.tiny_conv`). On the JAX
backend, such convolutions are computed as that product instead: the
padded input's shifted windows side by side (im2col), times the kernel
reshaped to a matrix. The maths and the weights are the same; sums run in
another order (float32 differences of ~1e-6). Other backends, and every
other shape, use `keras.layers.Conv2D` unchanged.
"""

from __future__ import annotations

import keras
from keras import ops


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras' "same" padding of one axis (the extra pixel at the end)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def is_tiny(spatial, kernel_size) -> bool:
    """Whether the kernel is larger than the input on every spatial axis
    (the shapes XLA:CPU runs slowly)."""
    return all(
        s is not None and s < k
        for s, k in zip(spatial, kernel_size, strict=True)
    )


def im2col_conv2d(x, kernel, strides, padding):
    """A channels-last 2-D convolution (no dilation, no groups) as one
    matrix product of the input's windows and the kernel."""
    kh, kw, cin, cout = kernel.shape
    h, w = x.shape[1], x.shape[2]
    sh, sw = strides
    if padding == "same":
        pads = (_same_padding(h, kh, sh), _same_padding(w, kw, sw))
    else:
        pads = ((0, 0), (0, 0))
    x = ops.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    out_h = (h + sum(pads[0]) - kh) // sh + 1
    out_w = (w + sum(pads[1]) - kw) // sw + 1
    windows = [
        x[
            :,
            i : i + (out_h - 1) * sh + 1 : sh,
            j : j + (out_w - 1) * sw + 1 : sw,
        ]
        for i in range(kh)
        for j in range(kw)
    ]
    patches = ops.concatenate(windows, axis=-1)
    flat = ops.reshape(patches, (-1, out_h * out_w, kh * kw * cin))
    out = ops.matmul(flat, ops.reshape(kernel, (kh * kw * cin, cout)))
    return ops.reshape(out, (-1, out_h, out_w, cout))


@keras.saving.register_keras_serializable(package="keras_attention")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` that, on JAX, computes convolutions whose
    kernel is larger than the input as a matrix product (see the module
    docstring). Takes and saves exactly what `keras.layers.Conv2D` does."""

    def convolution_op(self, inputs, kernel):
        channels_last = self.data_format == "channels_last"
        spatial = inputs.shape[1:3] if channels_last else inputs.shape[2:4]
        if (
            keras.backend.backend() != "jax"
            or self.groups != 1
            or tuple(self.dilation_rate) != (1, 1)
            or not is_tiny(spatial, self.kernel_size)
        ):
            return super().convolution_op(inputs, kernel)
        x = inputs if channels_last else ops.transpose(inputs, (0, 2, 3, 1))
        y = im2col_conv2d(x, kernel, tuple(self.strides), self.padding)
        return y if channels_last else ops.transpose(y, (0, 3, 1, 2))
