"""Features: see DESIGN.md."""
