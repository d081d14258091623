"""GAN studio: a generator and a discriminator graph in one project, trained
against each other (no Qt here).

- :mod:`dlstudio.gan.project`: the pair of graphs and the checks across them;
- :mod:`dlstudio.gan.train`: the alternating training loop (runs, events, stop, NaN);
- :mod:`dlstudio.gan.losses` and the backend step modules (``steps_tensorflow``,
  ``steps_jax``): the losses and the one backend-specific gradient step;
- :mod:`dlstudio.gan.sampling`: fixed-noise grids, latent interpolation, mode coverage;
- :mod:`dlstudio.cli.gan` (not in this package): ``dlstudio sample`` and GAN training from ``dlstudio train``.
"""
