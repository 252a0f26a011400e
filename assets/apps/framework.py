"""A tiny web framework built on WSGI: routes, request and response objects.

This is what Flask and Django do on the application side: the server calls one
WSGI callable; the framework turns the environ into a Request, finds the view for
the path, and turns the view's Response back into start_response + body.
"""

import json
from urllib.parse import parse_qs


class Request:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.path = environ.get("PATH_INFO") or "/"
        self.args = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


class Response:
    def __init__(self, body, status="200 OK", content_type="text/plain; charset=utf-8"):
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.headers = [("Content-Type", content_type), ("Content-Length", str(len(self.body)))]


class App:
    def __init__(self):
        self.routes = {}

    def route(self, path):
        """Decorator: @app.route("/hello") registers a view for that path."""

        def register(view):
            self.routes[path] = view
            return view

        return register

    def __call__(self, environ, start_response):
        """The WSGI entry point: the server calls the App object itself."""
        request = Request(environ)
        view = self.routes.get(request.path)
        response = view(request) if view else Response("Not Found\n", "404 Not Found")
        start_response(response.status, response.headers)
        return [response.body]


app = App()


@app.route("/")
def index(request):
    return Response("Routes: " + ", ".join(sorted(app.routes)) + "\n")


@app.route("/hello")
def hello(request):
    return Response("Hello, %s!\n" % request.args.get("name", "World"))


@app.route("/api")
def api(request):
    data = {"method": request.method, "path": request.path}
    return Response(json.dumps(data), content_type="application/json")


application = app  # the name the WSGI server looks for by default
