"""A form: GET shows it, POST reads the request body from environ['wsgi.input'].

The body is a stream: read exactly CONTENT_LENGTH bytes (reading further gives b"").
"""

import html
from urllib.parse import parse_qs

FORM = b"""<!doctype html><meta charset="utf-8"><title>form</title>
<h1>Say hello</h1>
<form method="post" action="">
  <label>Your name <input name="name"></label>
  <button>Send</button>
</form>
"""


def application(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)  # bytes, exactly as the client sent them
        fields = parse_qs(body.decode("utf-8"))
        name = fields.get("name", ["stranger"])[0]
        page = "<!doctype html><meta charset='utf-8'><p>Hello, %s! (%d bytes read from wsgi.input)</p>"
        page = page % (html.escape(name), len(body))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode("utf-8")]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [FORM]
