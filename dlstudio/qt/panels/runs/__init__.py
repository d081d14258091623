"""What the run panels share: the run picker that follows the project's runs (RunsCombo,
RunSource) and the background job of a run panel (RunJob)."""
