"""Web origins as a browser's Origin header names them: what CORS compares, exactly."""

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def browser_origin(url: str) -> str | None:
    """The origin of an http(s) URL as a browser sends it: lower-case scheme and host, the port only when it is
    not the scheme's own, no user. None for anything else."""
    try:
        parts = urlsplit(url.strip())
        scheme, port = parts.scheme.lower(), parts.port
    except ValueError:  # an unparseable port
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    shown = f":{port}" if port and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{parts.hostname}{shown}"
