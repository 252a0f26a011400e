"""An application that breaks the rules, one path per mistake. Each gives a 500, and
the WSGI server's log says in plain words what went wrong.

  /exception        the app raises: 500, with the Python traceback in the log
  /no-start         returns a body without calling start_response
  /str-body         yields a str instead of bytes
  /bad-header       passes a header value that is not a str
  /hop-by-hop       sets Connection, a header only the server may set
  /bad-status       the status is not like "200 OK"
"""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/exception":
        return 1 / 0  # ZeroDivisionError: the traceback goes to the log
    if path == "/no-start":
        return [b"I forgot to call start_response"]
    if path == "/str-body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text, not bytes"]
    if path == "/bad-header":
        start_response("200 OK", [("Content-Length", 12)])  # an int, not a str
        return [b"twelve bytes"]
    if path == "/hop-by-hop":
        start_response("200 OK", [("Connection", "close")])
        return [b"hop-by-hop headers belong to the server"]
    if path == "/bad-status":
        start_response(200, [])  # must be a str like "200 OK"
        return [b""]
    links = "".join(
        '<li><a href="%s">%s</a></li>' % (p, p)
        for p in ["/exception", "/no-start", "/str-body", "/bad-header", "/hop-by-hop",
                  "/bad-status"]
    )
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [("<h1>Pick a mistake</h1><ul>%s</ul>" % links).encode()]
