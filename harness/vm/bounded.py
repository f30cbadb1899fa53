"""Every libvirt call with a deadline. libvirt's Python calls block in C until libvirtd
answers, and a daemon that accepts and never answers would hang the harness for good,
deaf to Ctrl-C and SIGTERM. So each call runs in a daemon thread while the caller waits
on an event, which times out and wakes on a signal.

A `Bounded` wraps a libvirt object (connection, domain, network, snapshot) and every object
its calls return. After a call overran (or was interrupted), later calls on the same
connection fail at once, after a short grace, rather than each waiting out its own deadline
behind the first: unwinding after Ctrl-C takes seconds even when libvirtd is hung.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from harness.errors import HarnessTimeoutError

__all__ = ["Bounded", "Guard", "call_on", "raw", "with_timeout"]

_GRACE = 2.0
"""Seconds a call that was interrupted gets to finish before the connection counts as hung."""


class _Call(threading.Thread):
    def __init__(
        self, what: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ):
        super().__init__(name=f"libvirt {what}", daemon=True)
        self.what = what
        self.began = time.monotonic()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._call = (fn, args, kwargs)

    def run(self) -> None:
        fn, args, kwargs = self._call
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as e:
            self.error = e
        finally:
            self.done.set()


class Guard:
    """The deadline of the calls on one connection, and the call libvirt left unanswered."""

    def __init__(self, uri: str, timeout: float):
        self.uri = uri
        self.timeout = timeout
        self._stuck: _Call | None = None
        self._gave_up = False

    def call(
        self,
        what: str,
        fn: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """`fn(*args, **kwargs)` within `timeout` (default: the guard's) seconds."""
        self._check_stuck()
        call = _Call(what, fn, tuple(raw(a) for a in args), kwargs)
        limit = self.timeout if timeout is None else timeout
        call.start()
        try:
            finished = call.done.wait(limit)
        except BaseException:  # a signal: whoever unwinds must not wait behind this call
            if not call.done.is_set():
                self._stuck = call
            raise
        if not finished:
            self._stuck, self._gave_up = call, True
            raise HarnessTimeoutError(
                f"libvirt at {self.uri} did not answer {what} within {limit:g} s; is libvirtd "
                "hung? Restart it, then remove leftovers with `harness vm gc`"
            )
        if call.error is not None:
            raise call.error
        return self.wrap(call.result)

    def _check_stuck(self) -> None:
        stuck = self._stuck
        if stuck is None:
            return
        if not stuck.done.wait(0 if self._gave_up else _GRACE):
            self._gave_up = True
            raise HarnessTimeoutError(
                f"libvirt at {self.uri} has not answered {stuck.what} for "
                f"{time.monotonic() - stuck.began:.0f} s; not sending it more calls"
            )
        self._stuck, self._gave_up = None, False

    def wrap(self, value: Any, timeout: float | None = None) -> Any:
        """`value` with every libvirt object in it wrapped in a Bounded."""
        if isinstance(value, list):
            return [self.wrap(v, timeout) for v in value]
        kind = type(value)
        if kind.__module__ == "libvirt" and kind.__name__.startswith("vir"):
            return Bounded(value, self, kind.__name__.removeprefix("vir"), timeout)
        return value


class Bounded:
    """A libvirt object whose every method call goes through its connection's Guard."""

    def __init__(self, target: Any, guard: Guard, kind: str, timeout: float | None = None):
        self._target = target
        self._guard = guard
        self._kind = kind
        self._timeout = timeout

    @property
    def raw(self) -> Any:
        """The libvirt object itself (for libvirt_qemu's functions)."""
        return self._target

    @property
    def guard(self) -> Guard:
        return self._guard

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr
        guard, what, timeout = self._guard, f"{self._kind}.{name}", self._timeout

        def bounded(*args: Any, **kwargs: Any) -> Any:
            return guard.call(what, attr, *args, timeout=timeout, **kwargs)

        return bounded

    def __repr__(self) -> str:
        return f"Bounded({self._target!r})"


def raw(value: Any) -> Any:
    """The libvirt object behind `value` (itself when it is not a Bounded)."""
    return value.raw if isinstance(value, Bounded) else value


def with_timeout(value: Any, seconds: float) -> Any:
    """`value` with calls bounded by `seconds` instead of its connection's default."""
    if isinstance(value, Bounded):
        return Bounded(value.raw, value.guard, value._kind, seconds)
    return value


def call_on(obj: Any, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` (a module-level libvirt function about `obj`) bounded like `obj`'s own
    calls; a plain call when `obj` is not a Bounded (tests' fakes)."""
    if isinstance(obj, Bounded):
        return obj.guard.call(what, fn, *args, timeout=obj._timeout)
    return fn(*args)
