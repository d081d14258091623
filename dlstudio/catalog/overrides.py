"""The small hand-kept part of the catalog.

Everything else (which parameters a layer has, their defaults and help text)
comes from Keras itself. This table only adds what Keras cannot say: the
palette category, choices and ranges, defaults for required arguments, hidden
arguments, and what rank each input port takes.
"""

from __future__ import annotations

from dlstudio.catalog.specs import PortSpec

# The usual choices first; the catalog adds every other name Keras itself offers
# (``keras_choices``: keras.activations, keras.initializers, ...) after them.
ACTIVATIONS = (
    "linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "gelu", "elu", "selu",
    "softplus", "softsign", "swish", "silu", "relu6", "hard_sigmoid", "hard_silu", "mish",
    "log_softmax", "exponential",
)
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "orthogonal", "zeros", "ones", "random_normal", "random_uniform",
    "truncated_normal", "uniform", "variance_scaling",
)
REGULARIZERS = ("l1", "l2", "l1l2")
CONSTRAINTS = ("max_norm", "non_neg", "unit_norm", "min_max_norm")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5", "gaussian")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
RNN_TYPES = ("LSTM", "GRU", "SimpleRNN")
TIME_DISTRIBUTED_TYPES = (
    "Dense", "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "Flatten", "Dropout", "Activation", "BatchNormalization",
)

# Palette category of every layer type, in palette order. Input is special-cased.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Input": ("Input",),
    "Core": ("Dense", "Embedding", "Identity"),
    "Activation": ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"),
    "Convolution": (
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
        "SeparableConv2D", "DepthwiseConv2D",
    ),
    "Pooling": (
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
        "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling1D",
        "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    ),
    "Normalization": ("BatchNormalization", "LayerNormalization", "GroupNormalization"),
    "Regularization": ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise"),
    "Reshaping": (
        "Flatten", "Reshape", "Permute", "RepeatVector", "UpSampling1D", "UpSampling2D",
        "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D",
    ),
    "Merging": ("Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate", "Dot"),
    "Recurrent": ("SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"),
    "Attention": ("MultiHeadAttention",),
    "Augmentation": (
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop",
        "RandomContrast",
    ),
    "Preprocessing": ("Rescaling", "Resizing", "Normalization"),
}

# Constructor arguments never shown: Keras' defaults apply.
HIDDEN = {
    "name", "dtype", "kwargs", "data_format", "seed", "activity_regularizer",
    "lora_rank", "lora_alpha", "quantization_config", "weights", "backward_layer",
    "stateful", "unroll", "use_cudnn", "go_backwards", "renorm", "renorm_clipping",
    "renorm_momentum", "synchronized", "sliding_window",
    "flash_attention", "output_shape", "attention_axes", "input_length", "sparse",
    "ragged", "batch_size", "autocast", "use_gate",
}

_ACT = dict(kind="choice", choices=ACTIVATIONS, keras_choices="activations", default="linear")
_RATE = dict(kind="float", min=0.0, max=1.0, exclusive_max=True)
_POS_INT = dict(kind="int", min=1)

# Overrides that apply to an argument of this name in any layer.
BY_NAME: dict[str, dict] = {
    "units": dict(_POS_INT, default=32),
    "filters": dict(_POS_INT, default=32),
    "kernel_size": dict(kind="ints", min=1, default=3),
    "strides": dict(kind="ints", min=1, default=1),
    "pool_size": dict(kind="ints", min=1, default=2),
    "dilation_rate": dict(kind="ints", min=1, default=1),
    "size": dict(kind="ints", min=1, default=2),
    "output_padding": dict(kind="ints", min=0, optional=True),
    "groups": dict(_POS_INT),
    "depth_multiplier": dict(_POS_INT),
    "padding": dict(kind="choice", choices=("valid", "same")),
    "activation": _ACT,
    "recurrent_activation": dict(kind="choice", choices=ACTIVATIONS, keras_choices="activations"),
    "rate": dict(_RATE, default=0.5),
    "dropout": dict(_RATE),
    "recurrent_dropout": dict(_RATE),
    "momentum": dict(kind="float", min=0.0, max=1.0),
    "epsilon": dict(kind="float", min=0.0, exclusive_min=True),
    "axis": dict(kind="json"),
    "interpolation": dict(kind="choice", choices=INTERPOLATIONS),
    "fill_mode": dict(kind="choice", choices=FILL_MODES),
    "fill_value": dict(kind="float"),
    "value_dim": dict(kind="int", min=1, optional=True),
    "negative_slope": dict(kind="float", min=0.0),
    "alpha": dict(kind="float"),
    "max_value": dict(kind="float", min=0.0, optional=True),
    "threshold": dict(kind="float"),
    "noise_shape": dict(kind="json", optional=True, default=None),
}
for _arg in ("kernel", "bias", "recurrent", "depthwise", "pointwise", "embeddings",
             "beta", "gamma", "moving_mean", "moving_variance", "alpha"):
    BY_NAME[f"{_arg}_initializer"] = dict(kind="choice", choices=INITIALIZERS, keras_choices="initializers",
                                          config_ok=True)
    BY_NAME[f"{_arg}_regularizer"] = dict(
        kind="choice", choices=REGULARIZERS, keras_choices="regularizers", optional=True, default=None,
        config_ok=True,
    )
    BY_NAME[f"{_arg}_constraint"] = dict(
        kind="choice", choices=CONSTRAINTS, keras_choices="constraints", optional=True, default=None,
        config_ok=True,
    )

# Overrides for one argument of one layer type (win over BY_NAME).
BY_TYPE: dict[str, dict[str, dict]] = {
    "Input": {},
    "Activation": {"activation": dict(_ACT, default="relu")},
    "Dropout": {"rate": dict(_RATE, default=0.5)},
    "GaussianNoise": {"stddev": dict(kind="float", min=0.0, default=0.1)},
    "Reshape": {"target_shape": dict(kind="shape", min=-1, default=[-1, 1])},
    "Permute": {"dims": dict(kind="shape", min=1, default=[2, 1])},
    "RepeatVector": {"n": dict(_POS_INT, default=4)},
    "ZeroPadding1D": {"padding": dict(kind="json", default=1)},
    "ZeroPadding2D": {"padding": dict(kind="json", default=1)},
    "Cropping1D": {"cropping": dict(kind="json", default=1)},
    "Cropping2D": {"cropping": dict(kind="json", default=1)},
    "Concatenate": {"axis": dict(kind="int", default=-1)},
    "Dot": {"axes": dict(kind="json", default=-1)},
    "Embedding": {
        "input_dim": dict(_POS_INT, default=1000),
        "output_dim": dict(_POS_INT, default=32),
    },
    "MultiHeadAttention": {
        "num_heads": dict(_POS_INT, default=2),
        "key_dim": dict(_POS_INT, default=16),
    },
    "RandomFlip": {"mode": dict(kind="choice", choices=("horizontal", "vertical", "horizontal_and_vertical"))},
    "RandomRotation": {"factor": dict(kind="floats", default=0.1)},
    "RandomZoom": {
        "height_factor": dict(kind="floats", default=0.1),
        "width_factor": dict(kind="floats", optional=True),
    },
    "RandomTranslation": {
        "height_factor": dict(kind="floats", default=0.1),
        "width_factor": dict(kind="floats", default=0.1),
    },
    "RandomCrop": {"height": dict(_POS_INT, default=24), "width": dict(_POS_INT, default=24)},
    "RandomContrast": {
        "factor": dict(kind="floats", min=0.0, default=0.2),
        "value_range": dict(kind="json", default=[0, 1]),
    },
    "Normalization": {"mean": dict(kind="json", optional=True), "variance": dict(kind="json", optional=True)},
    "Rescaling": {"scale": dict(kind="float", default=1 / 255), "offset": dict(kind="float")},
    "Resizing": {"height": dict(_POS_INT, default=32), "width": dict(_POS_INT, default=32)},
    "GroupNormalization": {"groups": dict(_POS_INT, default=4)},
    "AveragePooling1D": {"pool_size": dict(kind="ints", min=1, default=2)},
    "AveragePooling2D": {"pool_size": dict(kind="ints", min=1, default=2)},
    "AveragePooling3D": {"pool_size": dict(kind="ints", min=1, default=2)},
    "MaxPooling1D": {"strides": dict(kind="ints", min=1, optional=True, default=None)},
    "MaxPooling2D": {"strides": dict(kind="ints", min=1, optional=True, default=None)},
    "MaxPooling3D": {"strides": dict(kind="ints", min=1, optional=True, default=None)},
    "Bidirectional": {"merge_mode": dict(kind="choice", choices=("concat", "sum", "mul", "ave"))},
    "Softmax": {"axis": dict(kind="int", default=-1)},
    "PReLU": {
        "alpha_initializer": dict(kind="choice", choices=INITIALIZERS, keras_choices="initializers",
                                  config_ok=True, default="zeros"),
        "shared_axes": dict(kind="json", optional=True),
    },
}
for _t in ("AveragePooling1D", "AveragePooling2D", "AveragePooling3D"):
    BY_TYPE[_t]["strides"] = dict(kind="ints", min=1, optional=True, default=None)
for _t in ("RandomRotation", "RandomZoom", "RandomTranslation"):  # affine transforms: two modes only
    BY_TYPE[_t]["interpolation"] = dict(kind="choice", choices=("nearest", "bilinear"))
for _t in RNN_TYPES:  # Keras' default is tanh, not the "linear" of other layers
    BY_TYPE.setdefault(_t, {})["activation"] = dict(_ACT, default="tanh")

# Arguments of the layer's call (not of its constructor) that a node carries as settings;
# the help text comes from the docstring's "Call arguments:" section.
_TRAINING = {"training": dict(kind="json", optional=True, default=None)}  # True: also at inference (MC dropout)
CALL_PARAMS: dict[str, dict[str, dict]] = {
    "MultiHeadAttention": {
        "use_causal_mask": dict(kind="bool", default=False),
        "return_attention_scores": dict(kind="bool", default=False),
    },
    **{t: _TRAINING for t in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise",
                              "BatchNormalization")},
}

_VECTOR = PortSpec("input", (2, 3), expects="(batch, features)",
                   fix="insert Flatten or GlobalAveragePooling2D before it", warn_ranks=(4, 5))
_SEQ = PortSpec("input", (3,), expects="(batch, steps, features)",
                fix="insert Reshape to (steps, features) before it")
_IMG = PortSpec("input", (4,), expects="(batch, height, width, channels)",
                fix="insert Reshape to (height, width, channels) before it")
_VOL = PortSpec("input", (5,), expects="(batch, depth, height, width, channels)",
                fix="insert Reshape to (depth, height, width, channels) before it")
_FLAT = PortSpec("input", (2,), expects="(batch, features)", fix="insert Flatten before it")

PORTS: dict[str, tuple[PortSpec, ...]] = {
    "Input": (),
    "Dense": (_VECTOR,),
    "Embedding": (PortSpec("input", (2,), expects="(batch, steps) of integer token ids",
                           fix="feed integer sequences shaped (steps,)"),),
    "RepeatVector": (_FLAT,),
    "TimeDistributed": (PortSpec("input", (3, 4, 5), expects="(batch, steps, ...)",
                                 fix="insert Reshape to add a time axis"),),
    "MultiHeadAttention": (
        PortSpec("query", (3,), expects="(batch, steps, features)", fix="insert Reshape"),
        PortSpec("value", (3,), expects="(batch, steps, features)", fix="insert Reshape"),
        PortSpec("key", (3,), optional=True, expects="(batch, steps, features)", fix="insert Reshape"),
    ),
    "LSTM": (_SEQ, PortSpec("initial_h", (2,), optional=True, expects="(batch, units)"),
             PortSpec("initial_c", (2,), optional=True, expects="(batch, units)")),
    "GRU": (_SEQ, PortSpec("initial_state", (2,), optional=True, expects="(batch, units)")),
    "SimpleRNN": (_SEQ, PortSpec("initial_state", (2,), optional=True, expects="(batch, units)")),
    "Bidirectional": (_SEQ,),
    "SpatialDropout1D": (_SEQ,),
    "SpatialDropout2D": (_IMG,),
}
for _t in ("Conv1D", "Conv1DTranspose", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D", "UpSampling1D", "ZeroPadding1D", "Cropping1D"):
    PORTS[_t] = (_SEQ,)
for _t in ("Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "UpSampling2D",
           "ZeroPadding2D", "Cropping2D", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation", "RandomCrop", "RandomContrast", "Resizing"):
    PORTS[_t] = (_IMG,)
for _t in ("Conv3D", "MaxPooling3D", "AveragePooling3D"):
    PORTS[_t] = (_VOL,)

VARIADIC = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate", "Dot"}
TWO_INPUTS_ONLY = {"Subtract", "Dot"}

# Extra words the palette search should match.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "Dense": ("fully connected", "linear", "perceptron", "mlp"),
    "Conv2D": ("convolution", "cnn", "filter", "kernel"),
    "Conv2DTranspose": ("deconvolution", "upsample", "gan"),
    "Add": ("residual", "skip", "resnet"),
    "Concatenate": ("merge", "inception", "join"),
    "GlobalAveragePooling2D": ("gap", "inception"),
    "Dropout": ("regularization",),
    "BatchNormalization": ("batchnorm", "bn"),
    "LSTM": ("rnn", "recurrent", "sequence"),
    "Embedding": ("word", "token", "vector"),
    "MultiHeadAttention": ("transformer", "attention"),
}
