"""CBAM's spatial gate (Woo et al., 2018, https://arxiv.org/abs/1807.06521)."""

from __future__ import annotations

import keras
from keras import ops

from keras_attention.layers import _layout, _utils


@keras.saving.register_keras_serializable(package="keras_attention")
class SpatialAttention(keras.layers.Layer):
    """Spatial attention gate of CBAM.

    The channel-wise max and mean of the input (a 2-channel map, max first as
    in the official code) go through a `kernel_size` convolution with stride
    1, "same" padding and no bias, an optional batch normalisation, and a
    sigmoid. The resulting mask scales every channel at each position.

    The official code uses batch-norm epsilon 1e-5 and PyTorch momentum 0.01
    (Keras momentum 0.99), and initialises the batch-norm scale to zero in its
    ResNets (`zero_init_batch_norm=True`), so the gate starts at
    `sigmoid(0) = 0.5` everywhere.

    Reference:
        Woo, Park, Lee, Kweon. "CBAM: Convolutional Block Attention Module".
        ECCV 2018. https://arxiv.org/abs/1807.06521

    Args:
        kernel_size: Odd size of the convolution kernel. Defaults to 7.
        use_batch_norm: Whether to normalise the conv output. Defaults to True.
        batch_norm_epsilon: Defaults to 1e-5.
        batch_norm_momentum: Keras-style momentum. Defaults to 0.99.
        zero_init_batch_norm: Initialise the batch-norm scale to 0, as the
            official CBAM ResNets do. Defaults to False.
        gate_activation: Activation producing the mask ("sigmoid").
        data_format: "channels_last" or "channels_first"; `None` uses
            `keras.config.image_data_format()`.

    Input shape:
        Rank 3 `(batch, steps, channels)` or rank 4
        `(batch, height, width, channels)` (channels first if so set).

    Output shape:
        Same as the input.

    Examples:
        >>> x = keras.random.normal((2, 8, 8, 32))
        >>> tuple(SpatialAttention(kernel_size=3)(x).shape)
        (2, 8, 8, 32)
    """

    def __init__(
        self,
        kernel_size: int = 7,
        use_batch_norm: bool = True,
        batch_norm_epsilon: float = 1e-5,
        batch_norm_momentum: float = 0.99,
        zero_init_batch_norm: bool = False,
        gate_activation="sigmoid",
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.kernel_size = _utils.check_odd_kernel(
            name, "kernel_size", kernel_size
        )
        self.use_batch_norm = use_batch_norm
        self.batch_norm_epsilon = batch_norm_epsilon
        self.batch_norm_momentum = batch_norm_momentum
        self.zero_init_batch_norm = zero_init_batch_norm
        self.gate_activation = keras.activations.get(gate_activation)
        self.data_format = _utils.standardize_data_format(name, data_format)

    def build(self, input_shape):
        name = type(self).__name__
        _utils.check_input_rank(name, input_shape, (3, 4))
        rank = len(input_shape)
        # The gate's own layout: channels-last where the device has no
        # channels-first convolution (see `_layout`).
        self._gate_format = _layout.conv_data_format(self.data_format)
        gate_axis = _utils.channel_axis(self._gate_format, rank)
        conv_cls = keras.layers.Conv1D if rank == 3 else keras.layers.Conv2D
        self.conv = conv_cls(
            1,
            self.kernel_size,
            padding="same",
            use_bias=False,
            data_format=self._gate_format,
            dtype=self.dtype_policy,
            name="conv",
        )
        pooled_shape = list(
            _layout.convert_shape(
                input_shape, self.data_format, self._gate_format
            )
        )
        pooled_shape[gate_axis] = 2
        self.conv.build(tuple(pooled_shape))
        if self.use_batch_norm:
            gamma = "zeros" if self.zero_init_batch_norm else "ones"
            self.batch_norm = keras.layers.BatchNormalization(
                axis=gate_axis,
                epsilon=self.batch_norm_epsilon,
                momentum=self.batch_norm_momentum,
                gamma_initializer=gamma,
                dtype=self.dtype_policy,
                name="batch_norm",
            )
            pooled_shape[gate_axis] = 1
            self.batch_norm.build(tuple(pooled_shape))

    def _mask(self, inputs, training=None):
        rank = len(inputs.shape)
        axis = _utils.channel_axis(self.data_format, rank)
        pooled = ops.concatenate(
            [
                ops.expand_dims(
                    _utils.max_over(inputs, axis, self.compute_dtype), axis
                ),
                ops.expand_dims(
                    _utils.mean_over(inputs, axis, self.compute_dtype), axis
                ),
            ],
            axis=axis,
        )
        pooled = _layout.convert(pooled, self.data_format, self._gate_format)
        logits = self.conv(pooled)
        if self.use_batch_norm:
            logits = self.batch_norm(logits, training=training)
        mask = self.gate_activation(logits)  # channel axis of size 1
        return _layout.convert(mask, self._gate_format, self.data_format)

    def call(self, inputs, training=None):
        return inputs * self._mask(inputs, training=training)

    def compute_attention(self, inputs) -> dict:
        """Returns `{"spatial": mask}`, mask of shape (batch, *spatial)."""
        _utils.ensure_built(self, inputs)
        axis = _utils.channel_axis(self.data_format, len(inputs.shape))
        return {"spatial": ops.squeeze(self._mask(inputs), axis=axis)}

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "use_batch_norm": self.use_batch_norm,
                "batch_norm_epsilon": self.batch_norm_epsilon,
                "batch_norm_momentum": self.batch_norm_momentum,
                "zero_init_batch_norm": self.zero_init_batch_norm,
                "gate_activation": keras.activations.serialize(
                    self.gate_activation
                ),
                "data_format": self.data_format,
            }
        )
        return config
