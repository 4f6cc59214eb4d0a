"""imdsctl: read the Azure Instance Metadata Service (IMDS), and emulate it.

Public Python API::

    from imdsctl import ImdsClient
    with ImdsClient() as imds:
        print(imds.leaf("compute/vmId"))
"""

__version__ = "0.1.0"

__all__ = ["__version__", "ImdsClient", "ImdsctlError", "ExitCode"]


def __getattr__(name):  # lazy: `import imdsctl` must not import httpx
    if name == "ImdsClient":
        from .client import ImdsClient

        return ImdsClient
    if name in ("ImdsctlError", "ExitCode"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(name)
