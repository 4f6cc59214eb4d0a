"""The emulator's HTTP transport: bytes to Request and Response to bytes, one connection
on the event loop, the listening Server."""
