from boards.ratelimit import Limit, hit

LIMIT = Limit(requests=3, window=60)


def test_requests_within_the_limit_pass():
    assert [hit("k", LIMIT, now=1000.0) for _ in range(3)] == [None, None, None]


def test_the_request_over_the_limit_is_told_when_the_window_ends():
    for _ in range(3):
        hit("k", LIMIT, now=1000.0)
    # The window is [960, 1020): 20 seconds to go.
    assert hit("k", LIMIT, now=1000.0) == 20
    assert hit("k", LIMIT, now=1019.5) == 1


def test_a_new_window_starts_afresh():
    for _ in range(4):
        hit("k", LIMIT, now=1000.0)
    assert hit("k", LIMIT, now=1020.0) is None


def test_keys_are_counted_apart():
    for _ in range(4):
        hit("a", LIMIT, now=1000.0)
    assert hit("b", LIMIT, now=1000.0) is None
