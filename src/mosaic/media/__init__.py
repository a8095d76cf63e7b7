"""Media: see DESIGN.md."""
