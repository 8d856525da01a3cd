"""Reading the USAF chart: the finest element with every coarser one resolved (aliasing is not resolution)."""

from sim_backends.usaf import finest_resolved


def test_an_aliased_fine_element_past_the_first_failure_does_not_count():
    # trial 1 of qiup bench ao, aberration-free: element 9 reaches 0.20 again after 7 and 8 failed
    free = [0.54, 0.93, 0.69, 0.24, 0.67, 0.78, 0.26, 0.05, 0.05, 0.20, 0.20, 0.14, 0.0]
    assert finest_resolved(free, 0.2) == 6


def test_the_element_before_the_first_one_under_the_threshold():
    flat = [0.52, 0.88, 0.60, 0.23, 0.56, 0.62, 0.19, 0.02, 0.02, 0.11, 0.09]
    assert finest_resolved(flat, 0.2) == 5
    assert finest_resolved([0.5, 0.4, 0.3], 0.35) == 1


def test_exactly_at_the_threshold_is_resolved_and_all_resolved_gives_the_last_index():
    assert finest_resolved([0.3, 0.2, 0.2], 0.2) == 2


def test_nothing_resolved_gives_minus_one():
    assert finest_resolved([0.1, 0.5, 0.6], 0.2) == -1
