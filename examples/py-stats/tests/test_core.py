from stats import mean, median


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5


def test_median_of_sorted_values():
    assert median([1, 2, 3]) == 2
