#!/usr/bin/python3
# A stand-in for systemd's notification socket, for the tests: binds an AF_UNIX SOCK_DGRAM socket at
# argv[1], prints {"listening": path} once bound, then one JSON line per datagram. Like the manager it
# closes every fd received with SCM_RIGHTS: systemd-notify's BARRIER=1 carries one and waits until it is
# closed, so closing it is what lets the sender finish.
import array
import json
import os
import socket
import sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print(json.dumps({"listening": path}), flush=True)
fd_size = array.array("i").itemsize
while True:
    data, ancillary, _flags, _addr = sock.recvmsg(65536, socket.CMSG_SPACE(16 * fd_size))
    fds = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            got = array.array("i")
            got.frombytes(payload[: len(payload) - len(payload) % fd_size])
            fds.extend(got)
    print(json.dumps({"text": data.decode("utf-8", "replace"), "fds": len(fds)}), flush=True)
    for fd in fds:
        os.close(fd)
