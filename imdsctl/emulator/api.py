"""The Emulator: the public handle on a running emulator (its transport is
transport.py, its state the socket-free Service of service.py)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Union

from imdsctl.emulator import attested
from imdsctl.emulator.events import ScheduledEvents
from imdsctl.emulator.faults import Fault, FaultPlan
from imdsctl.emulator.http.server import Server
from imdsctl.emulator.mediators import Mediator
from imdsctl.emulator.profiles import DEFAULT_PROFILE, Profile, ProfileSource, load_profile
from imdsctl.emulator.service import LoggedRequest, RequestLog, Service
from imdsctl.emulator.throttle import DEFAULT_RATE, Throttle

#: The variables that point clients at an emulator: imdsctl's, and the Azure SDKs'.
CLIENT_VARIABLES = ("IMDSCTL_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST")


class Emulator:
    """A local, faithful IMDS on a loopback port.

    ``profile`` is a built-in name, a JSON file path, a parsed document or a
    Profile.  ``port=0`` takes a free port (see ``url`` after ``start()``).
    ``throttle`` applies IMDS's rate limit of ``rate`` requests per second;
    ``faults`` are Faults or spec strings armed from the start; ``control``
    serves the ``/_emulator/`` control channel.  ``events`` are scheduled
    events to add to the profile's (specs such as ``"Preempt@30"``, see
    imdsctl.emulator.events.SYNTAX), their times scaled by
    ``events_time_factor``; ``events_enable_delay`` delays the first
    scheduled-events answer, as IMDS does while it enables the feature.
    ``attested_ca`` and ``attested_key`` (PEM bytes or paths) supply the CA
    that signs attested documents (default: one generated per process, see
    ``attested_ca_pem``); ``attested_validity`` is their validity in seconds
    (default 6 h).  Use as a context manager or
    call ``start()`` and ``stop()``::

        with Emulator(profile="spot-vmss", throttle=False) as imds:
            imds.add_fault("410*2@/metadata/instance")
            run_my_client(imds.url)
            assert len(imds.requests) == 3
    """

    def __init__(self, profile: Union[ProfileSource, Profile] = DEFAULT_PROFILE,
                 host: str = "127.0.0.1", port: int = 0, *, throttle: bool = True,
                 rate: int = DEFAULT_RATE, faults: Iterable[Union[Fault, str]] = (),
                 control: bool = False, versions_require_metadata: bool = True,
                 verbose: bool = False, idle_timeout: float = 60.0, log_size: int = 10_000,
                 events: Iterable[Union[str, Any]] = (), events_time_factor: float = 1.0,
                 events_enable_delay: float = 0.0, attested_ca: Any = None, attested_key: Any = None,
                 attested_validity: Optional[float] = None, as_: str = "imds",
                 allow_uids: Iterable[int] = (0,)):
        self.profile = profile if isinstance(profile, Profile) else load_profile(profile)
        self.host = host
        self._requested_port = port
        self._verbose = verbose
        self._idle_timeout = idle_timeout
        self.service = Service(
            self.profile,
            throttle=Throttle(rate) if throttle else None,
            faults=FaultPlan(_as_fault(f) for f in faults),
            log=RequestLog(log_size),
            control=control,
            versions_require_metadata=versions_require_metadata,
            scheduled_events=ScheduledEvents.for_profile(
                self.profile, time_factor=events_time_factor, enable_delay=events_enable_delay,
                events=events),
            signing=attested.Signing(),
            mediator=None if as_ == "imds" else Mediator(as_, allow_uids),
        )
        if attested_ca is not None or attested_key is not None or attested_validity is not None:
            attested.configure(self.service, ca_cert=attested_ca, ca_key=attested_key,
                               validity=attested_validity)
        self.service.hosts = (host.strip("[]").lower(),)
        self._server: Optional[Server] = None

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<Emulator {self.profile.name} {where}>"

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve from a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        server = Server((self.host, self._requested_port), self.service, verbose=self._verbose,
                        idle_timeout=self._idle_timeout)
        server.start()
        self._server = server
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection (delayed answers included) and
        wait up to ``timeout`` seconds for the serving thread."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(timeout)

    def __enter__(self) -> Emulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served (the real one when started with port 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server.address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what IMDSCTL_ENDPOINT should be."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def environment(self) -> Dict[str, str]:
        """Environment variables pointing imdsctl and the Azure SDKs at this emulator."""
        return {name: self.url for name in CLIENT_VARIABLES}

    # -- what the control channel offers, in Python ---------------------------------

    def add_fault(self, fault: Union[Fault, str]) -> Fault:
        """Arm a fault (a Fault or a spec such as ``"503*2@/metadata/instance"``)."""
        armed = _as_fault(fault)
        self.service.faults.add(armed)
        return armed

    def clear_faults(self) -> None:
        self.service.faults.clear()

    @property
    def faults(self) -> List[Fault]:
        """The armed faults, with their remaining counts."""
        return self.service.faults.active()

    @property
    def requests(self) -> List[LoggedRequest]:
        """The requests answered so far (control channel excluded), oldest first."""
        return self.service.log.entries()

    def clear_requests(self) -> None:
        self.service.log.clear()

    def schedule_event(self, event: Union[str, Any], **fields: Any) -> Dict[str, Any]:
        """Schedule an event: a spec (``"Reboot"``, ``"Preempt@30"``), an EventSpec or
        its JSON form, with EventSpec fields as keywords (``resources=("vm1",)``).
        Returns the event as IMDS shows it, with its EventId."""
        return self.service.scheduled_events.schedule(event, **fields)

    @property
    def scheduled_events(self) -> ScheduledEvents:
        """The scheduled-events state: ``document()``, ``approve()``, ``cancel()``."""
        return self.service.scheduled_events

    @property
    def attested_ca_pem(self) -> bytes:
        """The CA certificates (PEM) attested documents chain to: what
        ``imdsctl attested verify --ca-file`` needs (needs cryptography)."""
        return attested.ca_bundle_pem(self.service)

    def reset_throttle(self) -> None:
        """Forget recent requests, as if the last second had been quiet."""
        if self.service.throttle is not None:
            self.service.throttle.reset()


def _as_fault(fault: Union[Fault, str]) -> Fault:
    return fault if isinstance(fault, Fault) else Fault.parse(fault)
