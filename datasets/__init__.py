"""Data the toolkit ships (simulated robot arm) or knows how to load (SKAB, SMD, ASD)."""
