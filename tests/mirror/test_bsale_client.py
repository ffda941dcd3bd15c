"""The Bsale client's rules that need no server: the rate limit (with a fake clock),
Retry-After parsing, base URLs, and which links it follows."""

import email.utils
import time

import pytest

from mirror.bsale_client import (
    BsaleClient,
    BsaleError,
    RateLimiter,
    normalize_base_url,
    parse_rate_limit,
    retry_after_seconds,
)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.now += seconds


def test_the_limiter_keeps_any_300_seconds_at_or_under_3000_requests():
    clock = FakeClock()
    limiter = RateLimiter(3000, 300, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(10_000):
        limiter.acquire()
        sent.append(clock.now)
        clock.now += 0.001  # the request itself takes a millisecond
    # Any 3,001 consecutive requests span more than 300 s: never 3,001 in a window.
    assert all(sent[i + 3000] - sent[i] >= 300 for i in range(len(sent) - 3000))
    # And the limit is used, not wasted: 10,000 requests take just over 3 x 300 s.
    assert 900 <= sent[-1] < 905
    busiest = max(sum(1 for t in sent if start <= t < start + 300) for start in sent[::500])
    assert busiest == 3000
    print(
        f"rate with the Bsale limit: {len(sent)} requests in {sent[-1]:.0f} s; busiest 300 s: {busiest}"
    )


def test_the_rate_limit_setting():
    assert parse_rate_limit("3000/300") == (3000, 300.0)
    assert parse_rate_limit("100/60s") == (100, 60.0)
    assert parse_rate_limit("off") is None
    with pytest.raises(ValueError, match="3000/300"):
        parse_rate_limit("fast")


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= retry_after_seconds(later) <= 61


@pytest.mark.parametrize(
    "url", ["https://api.bsale.com.pe", "https://api.bsale.com.pe/", "https://api.bsale.com.pe/v1/"]
)
def test_the_base_url_with_or_without_v1(url):
    assert normalize_base_url(url) == "https://api.bsale.com.pe"


@pytest.mark.parametrize("url", ["", "ftp://x", "api.bsale.com.pe"])
def test_a_bad_base_url_is_a_clear_error(url):
    with pytest.raises(BsaleError, match="http"):
        normalize_base_url(url)


def test_a_next_link_is_followed_on_the_configured_host_only():
    client = BsaleClient("https://api.bsale.com.pe", "token", limiter=None)
    assert (
        client.url("http://elsewhere.example/v1/documents.json?offset=50")
        == "https://api.bsale.com.pe/v1/documents.json?offset=50"
    )
    with pytest.raises(BsaleError, match="not a /v1/ path"):
        client.url("https://api.bsale.com.pe/admin/")


def test_no_token_is_a_clear_error():
    with pytest.raises(BsaleError, match="BSALE_ACCESS_TOKEN"):
        BsaleClient("https://api.bsale.com.pe", "")


def _client_over(total_pages: int, *, fail_at: int | None = None):
    """A client whose GETs answer from a list of ``total_pages`` pages linked by ``next``."""
    client = BsaleClient("https://api.bsale.com.pe", "token", limiter=None)
    asked = []

    def get(path_or_url, params=None):
        number = len(asked)
        asked.append(path_or_url)
        if number == fail_at:
            raise BsaleError("the source failed")
        following = f"/v1/documents.json?offset={(number + 1) * 50}"
        page = {"count": total_pages * 50, "items": [{"id": number}]}
        if number + 1 < total_pages:
            page["next"] = following
        return page

    client.get = get
    return client, asked


def test_pages_are_read_ahead_but_no_further_than_read_ahead_allows():
    import threading

    from mirror.bsale_client import READ_AHEAD

    client, asked = _client_over(1000)
    pages = client.pages("/v1/documents.json")
    assert next(pages)["items"] == [{"id": 0}]
    time.sleep(0.3)  # the reader fills its queue, then waits for the caller
    assert len(asked) <= 1 + READ_AHEAD + 1
    pages.close()  # the caller stops: so does the reader
    assert not any(t.name == "bsale-next" for t in threading.enumerate())
    assert len(asked) < 1000


def test_pages_follow_next_to_the_end_in_order_and_a_failure_reaches_the_caller():
    client, asked = _client_over(7)
    assert [page["items"][0]["id"] for page in client.pages("/v1/documents.json")] == list(range(7))
    assert asked[1:] == [f"/v1/documents.json?offset={n * 50}" for n in range(1, 7)]
    client, _asked = _client_over(7, fail_at=3)
    seen = []
    with pytest.raises(BsaleError, match="the source failed"):
        for page in client.pages("/v1/documents.json"):
            seen.append(page["items"][0]["id"])
    assert seen == [0, 1, 2]
