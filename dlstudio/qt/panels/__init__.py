"""Dock panels: palette, inspector, summary, problems (more come with later features)."""
