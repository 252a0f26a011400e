"""A module-level counter. Each worker is its own process with its own copy of this
module, so each keeps its own count: run with -w 2 and reload a few times to see the
pid and the count jump between workers. Globals are not shared state!
"""

import os

count = 0  # one per worker process


def application(environ, start_response):
    global count
    count += 1
    text = "Worker %d has served this page %d time(s).\n" % (os.getpid(), count)
    body = text.encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]
