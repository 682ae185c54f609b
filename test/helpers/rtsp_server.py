#!/usr/bin/python3
# A real RTSP camera for the capture tests: GStreamer's gst-rtsp-server serving an H.264 MP4 in a
# loop, optionally behind HTTP basic auth. Run with Debian's /usr/bin/python3 (it has PyGObject).
# Prints "ready <port>" once listening; SIGTERM/SIGINT stop it, SIGKILL simulates a dead camera.
import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--file', required=True)
    p.add_argument('--path', default='/cam')
    p.add_argument('--user')
    p.add_argument('--password')
    a = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(a.port))

    factory = GstRtspServer.RTSPMediaFactory()
    # The file path goes in the launch line; quote it so spaces survive GStreamer's parser.
    loc = a.file.replace('\\', '\\\\').replace('"', '\\"')
    factory.set_launch(
        f'( multifilesrc location="{loc}" loop=true ! qtdemux ! h264parse '
        '! rtph264pay name=pay0 pt=96 config-interval=1 )')
    # Shared: every client watches the same pipeline, like a real camera's single encoder.
    factory.set_shared(True)

    if a.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, 'viewer')
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password or ''), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role('viewer', GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role('viewer', GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(perms)

    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        print(f'cannot listen on port {a.port}', file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f'ready {a.port}', flush=True)
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
