"""The smallest WSGI application (PEP 3333).

A WSGI application is a callable that takes two arguments:
  environ         -- a dict describing the request (method, path, headers, ...)
  start_response  -- a function the app calls once with the status and the headers
and returns an iterable of bytes: the response body.

Run it:  wsgi-tutor wsgi-server hello.py
"""


def application(environ, start_response):
    body = b"Hello, World!\n"
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
