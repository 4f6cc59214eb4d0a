"""imdsctl: read the Azure Instance Metadata Service (IMDS), and emulate it.

Public Python API (the command line is a thin layer over it)::

    from imdsctl import Session, instance
    with Session(timeout=10) as imds:
        print(instance.compute(imds, "vm-id").data)

``Session`` and ``Settings`` (imdsctl.session), ``ImdsClient`` (the HTTP
client alone), ``Result`` (what the domain modules return),
``ImdsctlError`` and ``ExitCode``; the domain modules are submodules:
instance, identity, wait, and the packages events, attested, support.
Names are imported lazily: ``import imdsctl`` imports nothing else.
"""

__version__ = "0.2.0"

__all__ = ["__version__", "ExitCode", "ImdsClient", "ImdsctlError", "Result", "Session", "Settings"]

_HOMES = {"ImdsClient": "imds.client", "ImdsctlError": "errors", "ExitCode": "errors", "Result": "result",
          "Session": "session", "Settings": "session"}


def __getattr__(name):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(name)
