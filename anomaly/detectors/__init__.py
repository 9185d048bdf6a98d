"""Detectors: each maps a frame to a per-step, per-channel error vector (see anomaly.base)."""
