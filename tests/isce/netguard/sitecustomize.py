"""Loaded by every Python process of the ISCE tests (via PYTHONPATH): no traffic leaves the machine.

Name lookups and connections to anything but loopback raise OSError, and each attempt is
appended to the file named by INSARFLOW_NETGUARD_LOG, so a test can assert that none was made.
"""

import os
import socket

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _refuse(what: str) -> OSError:
    log = os.environ.get("INSARFLOW_NETGUARD_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()} {what}\n")
    return ConnectionRefusedError(f"network blocked in tests: {what}")


def _is_remote(sock: socket.socket, address: object) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    host = address[0] if isinstance(address, tuple) else address
    return str(host) not in _LOOPBACK and not str(host).startswith("127.")


def _guarded_connect(self, address):
    if _is_remote(self, address):
        raise _refuse(f"connect {address}")
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    if _is_remote(self, address):
        raise _refuse(f"connect {address}")
    return _connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and str(host) not in _LOOPBACK and not str(host).startswith("127."):
        raise _refuse(f"resolve {host}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo
