"""The only place that speaks to IMDS: the httpx client, the stdlib quick path and the attempt
it hands over, answer validation and the JSON reader, the time budget, endpoint checks, the
requests to the internet, the snapshot cache."""
