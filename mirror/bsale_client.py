"""A polite HTTP client for Bsale's API: ``access_token`` header, timeouts, a rate limit
shared by the process, retries with exponential backoff and jitter, ``Retry-After``.

Bsale allows 3,000 requests per 300 seconds (``BSALE_RATE_LIMIT``). Retried: 429
(after ``Retry-After``), 5xx, connection errors and resets, timeouts, and bodies that
are not the JSON they should be (a truncated response). Not retried: other 4xx (a bad
token or URL does not heal by asking again).
"""

from __future__ import annotations

import email.utils
import json
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

USER_AGENT = "salesdesk-mirror/1.0"
PAGE_LIMIT = 50  # Bsale's largest page
READ_AHEAD = 20  # pages read ahead of the caller (1,000 documents: a few MB)


class BsaleError(Exception):
    """Bsale could not be read (after every retry, or a refusal that retrying cannot fix)."""


class BsaleNotFound(BsaleError):
    pass


class BsaleConfigError(BsaleError):
    """No token, or a URL that is not one: asking again will not help."""


class RateLimiter:
    """At most ``limit`` requests in any ``period`` seconds (a sliding window of timestamps).

    Thread-safe; one instance per process and limit (``shared_limiter``), so every
    client in the process counts against the same budget.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("the rate limit needs a positive count and period")
        self.limit, self.period = limit, period
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                # "now - sent >= period" and not "sent <= now - period": the same in exact
                # arithmetic, but float rounding could make the second wait forever.
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                self._sleep(max(0.001, self.period - (now - self._sent[0])))


def parse_rate_limit(text: str) -> tuple[int, float] | None:
    """``"3000/300"`` -> (3000, 300.0); ``"off"`` or empty -> None."""
    text = (text or "").strip().lower()
    if text in {"", "off", "0", "none"}:
        return None
    try:
        count, _, seconds = text.partition("/")
        limit, period = int(count), float(seconds.rstrip("s") or 1)
    except ValueError:
        raise ValueError(f"BSALE_RATE_LIMIT must look like 3000/300, not {text!r}") from None
    if limit < 1 or period <= 0:
        raise ValueError(f"BSALE_RATE_LIMIT must look like 3000/300, not {text!r}")
    return limit, period


_limiters: dict[tuple[int, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(text: str | None = None) -> RateLimiter | None:
    parsed = parse_rate_limit(settings.BSALE_RATE_LIMIT if text is None else text)
    if parsed is None:
        return None
    with _limiters_lock:
        return _limiters.setdefault(parsed, RateLimiter(*parsed))


def normalize_base_url(url: str) -> str:
    """The API's base, without ``/v1``: ``https://api.bsale.com.pe/v1/`` -> ``https://api.bsale.com.pe``."""
    url = (url or "").strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[:-3].rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BsaleConfigError(f"The Bsale URL must be an http(s) URL, not {url!r}.")
    return url


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BsaleClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | None = None,
        tries: int | None = None,
        limiter: RateLimiter | bool | None = True,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        if not token:
            raise BsaleConfigError("No Bsale access token: pass --token or set BSALE_ACCESS_TOKEN.")
        self.timeout = settings.BSALE_TIMEOUT if timeout is None else timeout
        self.tries = max(1, settings.BSALE_RETRIES if tries is None else tries)
        self.limiter = shared_limiter() if limiter is True else (limiter or None)
        self.sleep = sleep
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.requests = 0  # requests sent, retries included
        self._count_lock = threading.Lock()
        self.session = requests.Session()
        self.session.headers.update(
            {"access_token": token, "Accept": "application/json", "User-Agent": USER_AGENT}
        )

    def url(self, path_or_url: str) -> str:
        """An absolute URL under the base. A link Bsale sent (``next``) is followed on the
        configured base only: its path and query, never its host (behind a proxy the two
        may differ, and a link must never lead the token to another host)."""
        if path_or_url.startswith(("http://", "https://")):
            parts = urlsplit(path_or_url)
            path_or_url = parts.path + (f"?{parts.query}" if parts.query else "")
        if not path_or_url.lstrip("/").startswith("v1/"):
            raise BsaleError(f"Refusing to read {path_or_url!r}: not a /v1/ path.")
        return self.base_url + "/" + path_or_url.lstrip("/")

    def _backoff(self, attempt: int) -> float:
        # Exponential, with jitter so that many clients do not retry in step.
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)) * random.uniform(
            0.5, 1.5
        )

    def get(self, path_or_url: str, params: dict | None = None) -> dict:
        url = self.url(path_or_url)
        problem = ""
        for attempt in range(1, self.tries + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            with self._count_lock:  # pages() reads ahead in a thread
                self.requests += 1
            wait = None
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
            except requests.RequestException as exc:  # refused, reset, truncated body
                problem = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 429:
                    problem = "rate limited (429)"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                elif status >= 500:
                    problem = f"server error ({status})"
                elif status == 404:
                    raise BsaleNotFound(f"Bsale has no {url} (404).")
                elif status >= 400:
                    raise BsaleError(
                        f"Bsale refused GET {url} with {status}: {response.text[:200]}"
                    )
                else:
                    try:
                        # parse_float=Decimal: amounts stay exact.
                        return json.loads(response.content, parse_float=Decimal)
                    except ValueError:
                        problem = "the answer was not complete JSON"
            if attempt == self.tries:
                break
            delay = self._backoff(attempt) if wait is None else wait
            logger.warning(
                "Bsale GET %s: %s; try %d of %d again in %.1f s",
                url,
                problem,
                attempt + 1,
                self.tries,
                delay,
            )
            self.sleep(delay)
        raise BsaleError(f"Bsale GET {url} failed after {self.tries} tries: {problem}.")

    def pages(self, path: str, params: dict | None = None, *, offset: int = 0) -> Iterator[dict]:
        """Each page of a list, from ``offset``, following ``next``.

        A reader thread follows ``next`` while the caller writes (the source's time and
        ours overlap), up to ``READ_AHEAD`` pages ahead; the rate limit counts its
        requests like any other. It stops when the caller stops iterating.
        """
        query = {"limit": PAGE_LIMIT, **(params or {})}
        if offset:
            query["offset"] = offset
        ahead: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()

        def put(kind: str, value) -> bool:
            while not stop.is_set():
                try:
                    ahead.put((kind, value), timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            url, url_params = path, query
            try:
                while not stop.is_set():
                    page = self.get(url, url_params)
                    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                        raise BsaleError(f"Bsale's answer for {path} is not a list envelope.")
                    following = page.get("next")
                    if not put("page", page) or not (following and page["items"]):
                        break
                    url, url_params = following, None  # next carries the query
                put("end", None)
            except BaseException as exc:  # the caller raises it
                put("error", exc)

        reader = threading.Thread(target=read, name="bsale-next", daemon=True)
        reader.start()
        try:
            while True:
                kind, value = ahead.get()
                if kind == "error":
                    raise value
                if kind == "end":
                    return
                yield value
        finally:
            stop.set()
            reader.join()
