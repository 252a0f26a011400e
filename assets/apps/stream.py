"""A streaming response: the application is a generator that yields chunks over time.

The server sends each chunk as soon as it is yielded (chunked transfer encoding),
so `curl -N http://127.0.0.1:8000/` prints one line every half second.
"""

import time


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return chunks()


def chunks():
    for i in range(1, 6):
        yield ("chunk %d of 5\n" % i).encode()
        if i < 5:
            time.sleep(0.5)
