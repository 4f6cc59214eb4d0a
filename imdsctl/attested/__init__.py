"""Attested data: the signed document taken apart (stdlib DER) and verified (cryptography)."""
