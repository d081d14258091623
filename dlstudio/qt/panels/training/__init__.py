"""The Training, Settings and Runs docks: the training panel (its progress line and live
curves), the training settings form, the runs list with its curve comparison, and the live
views (decision boundary, gradient flow) beside the curves."""
