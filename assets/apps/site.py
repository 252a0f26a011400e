"""The tutor's default app: one small site with a page for each lesson.

    /          the index, linking everything below
    /hello     the smallest response
    /environ   the environ this request produced, as a table
    /form      GET shows a form, POST reads wsgi.input
    /slow      sleeps ?ms= milliseconds (watch the queue with several requests)
    /stream    yields chunks over time
    /counter   a per-worker global counter (each worker process has its own)
    /boom      raises an exception: 500, traceback in the WSGI server's log
    /static/   not here at all: the web server answers it from disk

`wsgi-tutor wsgi-server builtin:site` answers the same routes in Rust.
"""

import html
import os
import time
from urllib.parse import parse_qs

count = 0  # one per worker process: see /counter

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>%(title)s</title>
<link rel="stylesheet" href="/static/style.css">
<style>
body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}
nav a{margin-right:.8em} table{border-collapse:collapse} td,th{padding:.2em .6em;text-align:left;vertical-align:top}
tr:nth-child(odd){background:#f2f2f2} code{font-size:.9em} footer{margin-top:2em;color:#777;font-size:.9em}
</style></head>
<body><nav><a href="/">home</a><a href="/hello">hello</a><a href="/environ">environ</a><a href="/form">form</a>
<a href="/slow?ms=2000">slow</a><a href="/stream">stream</a><a href="/counter">counter</a><a href="/boom">boom</a>
<a href="/static/">static files</a></nav>
<h1>%(title)s</h1>
%(content)s
<footer>Served by worker %(pid)d, a Python process running site.py.</footer>
</body></html>
"""


def page(start_response, title, content, status="200 OK"):
    body = PAGE % {"title": title, "content": content, "pid": os.getpid()}
    start_response(status, [("Content-Type", "text/html; charset=utf-8")])
    return [body.encode("utf-8")]


def index(environ, start_response):
    return page(
        start_response,
        "Welcome to the WSGI tutor site",
        "<p>Every page here was made by a Python function called by a WSGI server.</p><ul>"
        "<li><a href='/hello'>/hello</a>: the smallest response</li>"
        "<li><a href='/environ'>/environ</a>: what the app receives</li>"
        "<li><a href='/form'>/form</a>: reading a request body</li>"
        "<li><a href='/slow?ms=2000'>/slow</a>: a slow app and the queue</li>"
        "<li><a href='/stream'>/stream</a>: a streamed response</li>"
        "<li><a href='/counter'>/counter</a>: globals live in each worker</li>"
        "<li><a href='/boom'>/boom</a>: an exception becomes a 500</li>"
        "<li><a href='/static/'>/static/</a>: files the web server serves itself</li></ul>",
    )


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Hello, World!\n"]


def show_environ(environ, start_response):
    rows = "".join(
        "<tr><th>%s</th><td><code>%s</code></td></tr>"
        % (html.escape(key), html.escape(repr(environ[key])))
        for key in sorted(environ)
    )
    return page(start_response, "The environ", "<table>%s</table>" % rows)


def form(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        fields = parse_qs(environ["wsgi.input"].read(length).decode("utf-8"))
        name = fields.get("name", ["stranger"])[0]
        title = "Hello, %s!" % html.escape(name)
        return page(start_response, title, "<p><a href='/form'>again</a></p>")
    return page(
        start_response,
        "A form",
        "<form method='post'><label>Your name <input name='name'></label>"
        " <button>Send</button></form>",
    )


def slow(environ, start_response):
    ms = int(parse_qs(environ.get("QUERY_STRING", "")).get("ms", ["1000"])[0])
    time.sleep(ms / 1000)
    return page(
        start_response,
        "Slept %d ms" % ms,
        "<p>This worker could serve nobody else meanwhile.</p>",
    )


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])

    def chunks():
        for i in range(1, 6):
            yield ("chunk %d of 5 from worker %d\n" % (i, os.getpid())).encode()
            if i < 5:
                time.sleep(0.5)

    return chunks()


def counter(environ, start_response):
    global count
    count += 1
    text = "<p>Worker %d has served this page %d times.</p>" % (os.getpid(), count)
    return page(start_response, "Counter", text)


def boom(environ, start_response):
    raise RuntimeError("boom: this exception is on purpose; read the traceback in the log")


ROUTES = {
    "/": index,
    "/hello": hello,
    "/environ": show_environ,
    "/form": form,
    "/slow": slow,
    "/stream": stream,
    "/counter": counter,
    "/boom": boom,
}


def application(environ, start_response):
    view = ROUTES.get(environ.get("PATH_INFO") or "/")
    if view is None:
        return page(start_response, "Not Found", "<p>No page here.</p>", "404 Not Found")
    return view(environ, start_response)
