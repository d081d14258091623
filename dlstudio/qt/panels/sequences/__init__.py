"""The Text and Forecast docks of sequence models: generated text while a character model
trains (text_sample_panel.py), forecasts of a time-series model (forecast_panel.py), and what
both share (sequence_docks.py)."""
