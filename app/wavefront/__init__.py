"""Wavefront control: Zernike bases, SLM mask composition, calibration and sensorless adaptive optics (pure numpy)."""
