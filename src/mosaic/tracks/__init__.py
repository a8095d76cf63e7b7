"""Tracks: raw tracking files → standardized ``trex_v1`` parquet."""
