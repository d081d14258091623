"""The Autoencoder dock: reconstructions and the latent space of a trained autoencoder."""
