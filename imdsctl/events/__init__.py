"""Scheduled events: list and acknowledge, the watch with its hook, state, notifications and
systemd unit."""
