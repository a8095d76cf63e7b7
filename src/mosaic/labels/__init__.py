"""Labels: see DESIGN.md."""
