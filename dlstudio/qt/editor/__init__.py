"""The node editor: scene, items, view, interactions and undo commands."""
