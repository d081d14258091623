"""The GAN dock: train a GAN project and watch its sample grid, curves and interpolations."""
