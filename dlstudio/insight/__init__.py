"""Looking inside networks, numpy in and numpy out (no Qt; Keras is imported lazily).

- ``activations``: feature maps of every layer (ActivationProbe), channel tiles,
  first-layer filters, weight histograms, colour lookup tables.
- ``saliency``: |d score / d input| and Grad-CAM, with overlays.
- ``attribution``: Integrated Gradients (with its completeness check), SmoothGrad and
  occlusion beside saliency and Grad-CAM, for images, tokens and table rows;
  ``sanity``: the model randomisation test (Adebayo et al. 2018) for any of them.
- ``convolution``: the lecture kernels (blur, sharpen, edge, Sobel, ...), convolution
  as Keras computes it, and kernels written into Conv2D nodes.
- ``attacks``, ``robustness``: adversarial examples (their gradients and shared
  primitives come from :mod:`dlstudio.inference`).
- ``models``: which model (a run's or the untrained graph) and which sample to look at.
- ``cli``: ``dlstudio featuremaps`` and ``dlstudio saliency``.
"""
