"""Image files to model-ready arrays: the one conversion of `predict` and
`explain` (16-bit, palette, alpha, CMYK... to 8-bit gray or RGB)."""

from __future__ import annotations

from keras_attention.inference.classifier import card_value
from keras_attention.inference.errors import InferenceError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# What Pillow raises for a file it cannot decode (besides
# DecompressionBombError): truncated and corrupt files give OSError,
# ValueError, SyntaxError or EOFError depending on the format.
IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _pil_image():
    """Pillow's `Image` module, or an `InferenceError` naming the extra
    that installs it."""
    try:
        from PIL import Image
    except ImportError as error:
        raise InferenceError(
            "Reading images needs Pillow: pip install "
            f"'keras-attention-zoo[viz]' ({error})."
        ) from None
    return Image


def _bit_depth_scale(image):
    """An 8-bit "L" image from a 16-bit ("I;16*"), 32-bit ("I") or float
    ("F") one: values scaled from their bit depth's range to 0..255."""
    import numpy as np
    from PIL import Image

    values = np.asarray(image)
    if image.mode == "F":
        top = 1.0  # floats are taken as 0..1
    elif image.mode.startswith("I;16") or image.format == "PNG":
        top = 65535.0  # PNG's "I" images are 16-bit
    else:
        top = float(2**31 - 1)
    scaled = np.clip(values.astype("float64") * (255.0 / top), 0, 255)
    return Image.fromarray(np.round(scaled).astype("uint8"), mode="L")


def _to_8bit(image):
    """`image` as an 8-bit "L" or "RGB" image. Transparency (an alpha
    channel, a palette's or a key colour's) is composited on white."""
    from PIL import Image

    if image.mode == "F" or image.mode.startswith("I"):
        return _bit_depth_scale(image)
    transparent = image.mode in _ALPHA_MODES or "transparency" in image.info
    if transparent:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        composite = Image.alpha_composite(white, rgba).convert("RGB")
        gray = image.mode in ("LA", "La", "L", "1")
        return composite.convert("L") if gray else composite
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX...


def read_image(path, channels: int = 3, size=None, max_size=None):
    """An image file as a float32 `(H, W, channels)` array of 0..255 values,
    the one conversion of `predict` and `explain`.

    Any Pillow mode is turned into 8-bit gray or RGB first: 16-bit
    ("I;16", "I;16B"; a PNG's "I"), 32-bit ("I") and float ("F", taken as
    0..1) images are scaled from their bit depth's range to 0..255 (not
    clipped at 255); palette, "1", "CMYK" and other modes are converted;
    transparent pixels ("RGBA", "LA", "PA", a palette's or a key colour's
    transparency) are composited on white. Then the image is converted to
    `channels` (1: luma, 3: RGB).

    Args:
        path: The image file.
        channels: 1 or 3.
        size: `(height, width)` to resize to (bilinear), or None.
        max_size: Without `size`, the longest side is scaled down to at most
            this (keeping the aspect ratio), or None.

    Raises:
        InferenceError: the file cannot be decoded (the message names it).
    """
    import numpy as np

    Image = _pil_image()
    try:
        with Image.open(path) as opened:
            if max_size and not size:
                opened.draft("RGB", (max_size, max_size))  # JPEG: decode small
            opened.load()  # Pillow decodes lazily: errors surface here.
            image = _to_8bit(opened)
            image = image.convert("L" if channels == 1 else "RGB")
    except (*IMAGE_ERRORS, Image.DecompressionBombError) as error:
        raise InferenceError(f"Could not read image {path}: {error}") from error
    if size:
        height, width = (int(s) for s in size)
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
    elif max_size and max(image.size) > max_size:
        image.thumbnail((max_size, max_size), Image.BILINEAR)
    array = np.asarray(image, dtype="float32")
    return array[..., None] if array.ndim == 2 else array


def _backbone_shape(model):
    """`(image_shape, data_format)` of the model's backbone (the shape is
    None when the model does not tell)."""
    backbone = getattr(model, "backbone", model)
    shape = getattr(backbone, "image_shape", None)
    return shape, getattr(backbone, "data_format", "channels_last")


def image_channels(model) -> int:
    """The channel count (1 or 3) the model's images have; 3 when the model
    does not tell."""
    shape, data_format = _backbone_shape(model)
    if not shape:
        return 3
    count = shape[0] if data_format == "channels_first" else shape[-1]
    return 1 if count == 1 else 3


def fixed_spatial_size(model) -> tuple[int, int] | None:
    """`(height, width)` of a model that takes one image size; None for a
    model that takes any size."""
    shape, data_format = _backbone_shape(model)
    if shape is None:
        return None
    spatial = shape[1:] if data_format == "channels_first" else shape[:2]
    if any(s is None for s in spatial):
        return None
    return tuple(int(s) for s in spatial)


def image_batch(path, model, card: dict, max_size=None):
    """The `(1, H, W, C)` batch (or `(1, C, H, W)` for a channels-first
    model) of raw 0..255 pixels of one image file: resized to the
    weights' input size (their card's, else the model's fixed size),
    else its longest side bounded by `max_size`."""
    import numpy as np

    size = card_value(card, "input_size")
    if size is None:
        size = fixed_spatial_size(model)
    array = read_image(path, image_channels(model), size, max_size)
    _, data_format = _backbone_shape(model)
    if data_format == "channels_first":
        array = np.transpose(array, (2, 0, 1))
    return array[None]
