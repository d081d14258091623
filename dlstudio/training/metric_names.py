"""The metric names ``TrainingSettings.metrics`` accepts (no Keras import: the
settings form lists them at start-up). :mod:`dlstudio.training.objectives`
turns them into Keras metrics."""

from __future__ import annotations

#: Metrics a classifier can report (precision, recall and AUC only for one sigmoid/logit output).
CLASSIFICATION_METRICS = ("accuracy", "top_5_accuracy", "precision", "recall", "auc")
#: Metrics a regression can report.
REGRESSION_METRICS = ("mae", "mse", "rmse", "mape", "r2")
#: Every name, in the order the settings form lists them; "auto" is accuracy or MAE by the task.
METRIC_CHOICES = ("auto", *CLASSIFICATION_METRICS, *REGRESSION_METRICS)
#: Other spellings people type, and what they mean.
ALIASES = {
    "acc": "accuracy", "top5_accuracy": "top_5_accuracy", "top_k_accuracy": "top_5_accuracy",
    "mean_absolute_error": "mae", "mean_squared_error": "mse", "root_mean_squared_error": "rmse",
    "mean_absolute_percentage_error": "mape", "r2_score": "r2", "r_squared": "r2",
}
#: Short labels and one-line explanations for the settings form.
METRIC_TEXT = {
    "auto": ("auto", "Accuracy for classification, mean absolute error for regression."),
    "accuracy": ("accuracy", "Share of samples whose predicted class is right (classification)."),
    "top_5_accuracy": ("top-5 accuracy", ("Share of samples whose class is among the 5 most likely "
                                          "(classification with more than 5 classes).")),
    "precision": ("precision", ("Of the samples predicted positive, the share that are (binary classifier "
                                "with one output unit).")),
    "recall": ("recall", "Of the positive samples, the share found (binary classifier with one output unit)."),
    "auc": ("AUC", "Area under the ROC curve (binary classifier with one output unit)."),
    "mae": ("MAE", "Mean absolute error (regression)."),
    "mse": ("MSE", "Mean squared error (regression)."),
    "rmse": ("RMSE", "Root mean squared error, in the target's units (regression)."),
    "mape": ("MAPE", "Mean absolute percentage error (regression; targets far from 0)."),
    "r2": ("R²", "Coefficient of determination: 1 is perfect, 0 is no better than the mean (regression)."),
}
