"""Fault injection and the request log: what reliability tests need and only an emulator can give.

`Faults.inject(api, ...)` arms the next `count` calls of one API: each sleeps `latency` seconds, then
either fails with `error_code`, has its connection dropped (the server closes the socket without an
answer), or, with neither, proceeds normally (latency only). The dispatcher consumes the faults; the
server turns `DroppedConnection` into a closed socket.

`RequestLog` counts every API call the dispatcher saw, in the order the calls *finished*, so that a test
can observe injected latency by order ("the delayed call finished after the quick one") rather than
by wall-clock time.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

from .errors import invalid


class DroppedConnection(Exception):
    """Raised by the dispatcher for an injected `drop`: the wire must close the socket and answer nothing."""


@dataclass
class Fault:
    api: str
    error_code: Optional[str] = None
    latency: float = 0.0
    drop: bool = False
    drop_after: bool = False  # the call runs, then the reply is lost (a non-idempotent call's worst case)
    remaining: int = 1

    def as_dict(self) -> Dict[str, str]:
        """The fault as the control endpoint shows it (strings, like every API answer)."""
        d = asdict(self)
        return {
            "api": self.api,
            "errorCode": d["error_code"] or "",
            "latency": repr(float(self.latency)),
            "drop": "1" if self.drop else "0",
            "dropAfter": "1" if self.drop_after else "0",
            "count": str(self.remaining),
        }


# Calls that a client may safely repeat: reads, and writes that leave the same state when done twice.
IDEMPOTENT_WRITES = frozenset({"setProperty", "deleteProperty", "setOutputParameter", "login"})


def is_idempotent(api: str) -> bool:
    return api.startswith("get") or api in IDEMPOTENT_WRITES


@dataclass
class Chaos:
    """Random faults on every call of the chosen APIs (default: the idempotent ones), from a seed.

    Of the calls: `rate` fail, half with `error_code` (HTTP 503 for ServerNotReady) and half with a
    dropped connection; `stall_rate` are held `stall` seconds (past the client's timeout) and then run.
    `fired` counts what happened, by kind.
    """

    rate: float = 0.0
    stall_rate: float = 0.0
    stall: float = 0.0
    seed: int = 0
    apis: Optional[FrozenSet[str]] = None  # None: every idempotent API
    steps_only: bool = False  # only calls made with a job step's session (the plugin's), not the tests'
    error_code: str = "ServerNotReady"
    drops: bool = True  # False: every failure is `error_code`, no dropped connections
    fired: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1 or not 0 <= self.stall_rate <= 1 or self.rate + self.stall_rate > 1:
            raise invalid("rate", "rate and stallRate between 0 and 1, together at most 1")
        if self.stall < 0:
            raise invalid("stall", "a number of seconds >= 0")
        self._random = random.Random(self.seed)

    def applies(self, api: str, from_step: Callable[[], bool]) -> bool:
        if not (api in self.apis if self.apis is not None else is_idempotent(api)):
            return False
        return from_step() if self.steps_only else True

    def draw(self, api: str, from_step: Callable[[], bool]) -> Optional[Fault]:
        """The fault for this call, if the dice say so; the caller holds the lock."""
        if not self.applies(api, from_step):
            return None
        roll = self._random.random()
        if roll < (self.rate / 2 if self.drops else self.rate):
            kind, fault = "error", Fault(api=api, error_code=self.error_code)
        elif roll < self.rate:
            kind, fault = "drop", Fault(api=api, drop=True)
        elif roll < self.rate + self.stall_rate:
            kind, fault = "stall", Fault(api=api, latency=self.stall)
        else:
            self.fired["none"] += 1
            return None
        self.fired[kind] += 1
        return fault

    def as_dict(self) -> Dict[str, object]:
        return {"rate": repr(self.rate), "stallRate": repr(self.stall_rate), "stall": repr(self.stall),
                "seed": str(self.seed), "apis": sorted(self.apis) if self.apis is not None else [],
                "stepsOnly": "1" if self.steps_only else "0",
                "errorCode": self.error_code, "drop": "1" if self.drops else "0",
                "fired": {k: str(v) for k, v in sorted(self.fired.items())}}


class Faults:
    """Armed faults per API name, and an optional `Chaos`; thread-safe. Faults for one API fire in the
    order they were injected; an armed fault wins over chaos."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: List[Fault] = []
        self._chaos: Optional[Chaos] = None

    def set_chaos(self, chaos: Optional[Chaos]) -> None:
        with self._lock:
            self._chaos = chaos

    def chaos(self) -> Optional[Dict[str, object]]:
        with self._lock:
            return self._chaos.as_dict() if self._chaos is not None else None

    def inject(self, api: str, error_code: Optional[str] = None, latency: float = 0.0, drop: bool = False,
               count: int = 1, drop_after: bool = False) -> Fault:
        if not api:
            raise invalid("api", "the name of an API, e.g. getProperty")
        if latency < 0:
            raise invalid("latency", "a number of seconds >= 0")
        if count < 1:
            raise invalid("count", "an integer >= 1")
        if sum((bool(drop), bool(error_code), bool(drop_after))) > 1:
            raise invalid("drop", "one of drop, dropAfter or errorCode, not several")
        fault = Fault(api=api, error_code=error_code or None, latency=float(latency), drop=bool(drop),
                      drop_after=bool(drop_after), remaining=int(count))
        with self._lock:
            self._armed.append(fault)
        return fault

    def take(self, api: str, from_step: Callable[[], bool] = lambda: False,
             chaos: bool = True) -> Optional[Fault]:
        """Consume one firing of the first armed fault for `api`, else (with `chaos`) what chaos draws;
        None: no fault. `from_step` tells whether the call comes from a job step's session (asked only
        when needed)."""
        with self._lock:
            for fault in self._armed:
                if fault.api == api:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._armed.remove(fault)
                    return Fault(api=fault.api, error_code=fault.error_code, latency=fault.latency,
                                 drop=fault.drop, drop_after=fault.drop_after, remaining=1)
            return self._chaos.draw(api, from_step) if chaos and self._chaos is not None else None

    def draw_for_batch(self, apis: List[str], from_step: Callable[[], bool]) -> Optional[Fault]:
        """Chaos for one XML envelope as a whole, as a proxy or an overloaded server fails a request: one
        draw when every call in it is one chaos applies to."""
        with self._lock:
            if self._chaos is None or not apis or not all(self._chaos.applies(a, from_step) for a in apis):
                return None
            return self._chaos.draw(apis[0], lambda: True)

    def pending(self) -> List[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._armed]

    def clear(self) -> None:
        """Disarm every fault and stop chaos."""
        with self._lock:
            self._armed.clear()
            self._chaos = None


@dataclass(frozen=True)
class Exchange:
    """One HTTP request of the REST or XML wire: how many API calls it carried (an XML batch carries
    several), and the job whose step session sent it ("" for any other caller)."""

    wire: str
    calls: int
    job_id: str = ""

    def as_dict(self) -> Dict[str, str]:
        return {"wire": self.wire, "calls": str(self.calls), "jobId": self.job_id}


class RequestLog:
    """Thread-safe record of API calls: counts per API name and the ordered (api, wire) entries; and the
    HTTP exchanges (round trips) that carried them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: List[Tuple[str, str]] = []
        self._counts: Counter = Counter()
        self._exchanges: List[Exchange] = []

    def record_exchange(self, wire: str, calls: int, job_id: str = "") -> None:
        with self._lock:
            self._exchanges.append(Exchange(wire, calls, job_id))

    def exchanges(self) -> List[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def record(self, api: str, wire: str) -> None:
        with self._lock:
            self._entries.append((api, wire))
            self._counts[api] += 1

    def count(self, api: str) -> int:
        with self._lock:
            return self._counts[api]

    def entries(self) -> List[Tuple[str, str]]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> Dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts.clear()
            self._exchanges.clear()
