"""Show the environ this application received, as an HTML table.

Every request becomes one dict: CGI-style keys (REQUEST_METHOD, PATH_INFO, HTTP_*...)
and the wsgi.* keys the server adds. All values you see here are plain str holding
latin-1 text, as PEP 3333 requires -- even a path with UTF-8 in it. Try:
    curl 'http://127.0.0.1:8000/caf%C3%A9?x=1' -H 'X-Hello: there'
"""

import html


def application(environ, start_response):
    rows = []
    for key in sorted(environ):
        value = environ[key]
        rows.append(
            "<tr><th>%s</th><td><code>%s</code></td><td>%s</td></tr>"
            % (html.escape(key), html.escape(repr(value)), type(value).__name__)
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>environ</title>"
        "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
        "td{padding-right:1em}tr:nth-child(odd){background:#f3f3f3}</style>"
        "<h1>The environ of this request</h1><table>"
        "<tr><th>key</th><th>value (repr)</th><th>type</th></tr>%s</table>" % "".join(rows)
    )
    body = page.encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body]
