"""The emulator at IMDS's real address, in a private network namespace."""
