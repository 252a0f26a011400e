"""A slow application: sleeps for ?ms= milliseconds (default 1000) before answering.

A sync worker serves one request at a time, so while it sleeps, the next request
waits in the queue. Start with -w 1, send two requests at once, and watch the second
one wait; then try -w 2. With --timeout 1 and ?ms=3000, the worker is killed.
"""

import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        ms = int(query.get("ms", ["1000"])[0])
    except ValueError:
        ms = 1000
    time.sleep(ms / 1000)
    body = ("Slept %d ms in worker %d.\n" % (ms, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]
