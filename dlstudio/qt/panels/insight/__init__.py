"""The Insight dock: feature maps, filters, saliency and Grad-CAM of a trained run
(insight_panel.py, insight_views.py) and the convolution playground (conv_playground.py)."""
