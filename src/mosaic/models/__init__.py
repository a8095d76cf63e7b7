"""Models: see DESIGN.md."""
