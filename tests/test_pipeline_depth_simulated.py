"""Depth from a simulated delay scan of the three-layer sample, judged against the true layer depths."""

from app.benchmarks.pipeline_depth import three_layer_depth_error


def test_three_layer_depths_within_five_percent_of_the_coherence_length():
    error_over_lc, source = three_layer_depth_error()
    assert "simulator, 3 layers" in source
    assert error_over_lc <= 0.05
