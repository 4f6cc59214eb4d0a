"""The options of the commands the fast path answers, as the click commands define them.

generated from the click tree by `python -m imdsctl._docgen --write` (make docs); do not edit.
"""

#: Options taking a value that may also come before the command's name: spelling -> name.
SHARED = {
    "--api-version": "api_version",
    "--endpoint": "endpoint",
    "--max-age": "max_age",
    "--output": "output",
    "--prefix": "env_prefix",
    "--query": "query",
    "--timeout": "timeout",
    "-o": "output",
    "-q": "query"
}

#: Each command's options taking a value: spelling -> name.
VALUED = {
    "compute": {
        "--api-version": "api_version",
        "--endpoint": "endpoint",
        "--max-age": "max_age",
        "--output": "output",
        "--prefix": "env_prefix",
        "--query": "query",
        "--timeout": "timeout",
        "-o": "output",
        "-q": "query"
    },
    "get": {
        "--api-version": "api_version",
        "--endpoint": "endpoint",
        "--max-age": "max_age",
        "--output": "output",
        "--prefix": "env_prefix",
        "--query": "query",
        "--timeout": "timeout",
        "-o": "output",
        "-q": "query"
    },
    "network": {
        "--api-version": "api_version",
        "--endpoint": "endpoint",
        "--ip": "ip",
        "--max-age": "max_age",
        "--nic": "nic",
        "--output": "output",
        "--prefix": "env_prefix",
        "--query": "query",
        "--timeout": "timeout",
        "-o": "output",
        "-q": "query"
    }
}

#: Each command's flags: spelling -> name.
FLAGS = {
    "compute": {
        "--all": "everything",
        "--allow-missing": "allow_missing"
    },
    "get": {
        "--allow-missing": "allow_missing"
    },
    "network": {
        "--allow-missing": "allow_missing"
    }
}

#: The variable the CLI reads each option from when it is not given.
ENVIRONMENT = {
    "api_version": "IMDSCTL_API_VERSION",
    "endpoint": "IMDSCTL_ENDPOINT",
    "max_age": "IMDSCTL_MAX_AGE",
    "output": "IMDSCTL_OUTPUT",
    "timeout": "IMDSCTL_TIMEOUT"
}

#: Each option's default, as text, as the CLI has it.
DEFAULTS = {
    "endpoint": "http://169.254.169.254",
    "env_prefix": "IMDS_",
    "ip": "0",
    "max_age": "0",
    "timeout": "30.0"
}
