"""The embedding projector: a layer's activations for the test split in 2-D, by class."""
