"""A worker process of wsgi-tutor's WSGI server (the mini gunicorn).

The arbiter (Rust) starts one of these per worker with `python3 -c <this file> KIND TARGET
CALLABLE`. The worker imports the application once, says "booted", then serves one
request at a time, for as long as the arbiter keeps its standard input open.

The arbiter and the worker talk in frames over the worker's stdin and stdout:
one byte of kind, four bytes of length (little endian), then the payload.

  arbiter -> worker   R  a request: body mode (1 byte), environ length (4 bytes),
                         the environ as latin-1 "key\\0value\\0key\\0value", then the body
                         when it came inline (body mode 1)
                      b  a piece of the request body (body mode 2: streamed)
                      e  the request body is over
  worker -> arbiter   B  booted: the application was imported
                      H  the response head: "status\\0name\\0value\\0name\\0value..."
                      D  a piece of the response body
                      X  an error, as JSON: {"kind", "message", "traceback"}
                      E  the response is over

Whatever the application prints must not corrupt the frames, so at start the worker keeps
a private copy of fd 1 for frames and points fd 1 (and sys.stdout) at stderr; the arbiter
logs stderr line by line with this worker's pid.
"""

import json
import os
import signal
import struct
import sys
import traceback
from itertools import chain

HEADER = struct.Struct("<BI")
U32 = struct.Struct("<I")
READ_SIZE = 256 * 1024
HAVE_READV = hasattr(os, "readv")  # not on Windows
END_FRAME = HEADER.pack(0x45, 0)

# Headers that belong to one connection, not to the response: only the server sets them.
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    )
)


class SpecError(Exception):
    """The application broke a rule of PEP 3333; the message says which, in plain words."""


class Channel:
    """Frames in on one fd, frames out on another; reads in large pieces, few syscalls."""

    def __init__(self, fd_in, fd_out):
        self.fd_in = fd_in
        self.fd_out = fd_out
        self.buf = b""
        self.pos = 0
        # Read into one buffer allocated once: os.read(fd, 256 KiB) would allocate (and
        # the allocator map and unmap) a fresh 256 KiB object for every request.
        self.rbuf = bytearray(READ_SIZE)
        self.rview = memoryview(self.rbuf)

    def read_frame(self):
        """The next (kind, payload), or None when the arbiter closed the pipe."""
        buf, pos = self.buf, self.pos
        if len(buf) - pos >= 5:
            kind, size = HEADER.unpack_from(buf, pos)
            end = pos + 5 + size
            if len(buf) >= end:
                self.pos = end
                return kind, buf[pos + 5 : end]
        while len(buf) - pos < 5:
            buf, pos = self._more(buf, pos)
            if buf is None:
                return None
        kind, size = HEADER.unpack_from(buf, pos)
        end = pos + 5 + size
        while len(buf) < end:
            buf, pos = self._more(buf, pos)
            if buf is None:
                return None
            end = pos + 5 + size
        payload = buf[pos + 5 : end]
        self.buf, self.pos = buf, end
        return kind, payload

    def _more(self, buf, pos):
        if HAVE_READV:
            n = os.readv(self.fd_in, [self.rbuf])
            data = bytes(self.rview[:n])
        else:
            data = os.read(self.fd_in, 65536)
        if not data:
            return None, 0
        return (buf[pos:] + data if pos < len(buf) else data), 0

    def write(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd_out, view) :]


def frame(kind, payload):
    return HEADER.pack(kind, len(payload)) + payload


class Input:
    """`wsgi.input`: the request body, read from inline bytes or from `b` frames on demand."""

    __slots__ = ("_channel", "_buf", "_more")

    def __init__(self, channel, data, streamed):
        self._channel = channel
        self._buf = data
        self._more = streamed  # frames may still come

    def _next(self):
        """The next piece of the body from the arbiter, or None when the body is over."""
        while self._more:
            got = self._channel.read_frame()
            if got is None or got[0] == 0x65:  # e: end of body (or the arbiter is gone)
                self._more = False
                return None
            if got[1]:
                return got[1]
        return None

    def _fill(self):
        chunk = self._next()
        if chunk is None:
            return False
        self._buf += chunk
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            size = sys.maxsize
        buf = self._buf
        if len(buf) < size:
            # Collect pieces and join once: appending to one bytes object would copy the
            # whole body again for every piece of a large upload.
            parts, have = [buf], len(buf)
            while have < size:
                chunk = self._next()
                if chunk is None:
                    break
                parts.append(chunk)
                have += len(chunk)
            buf = b"".join(parts)
        if len(buf) <= size:
            self._buf = b""
            return buf
        self._buf = buf[size:]
        return buf[:size]

    def readline(self, size=-1):
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0 or not self._fill():
                break
            if size is not None and 0 <= size <= len(self._buf):
                break
        end = len(self._buf) if nl < 0 else nl + 1
        if size is not None and size >= 0:
            end = min(end, size)
        data, self._buf = self._buf[:end], self._buf[end:]
        return data

    def readlines(self, hint=-1):
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def drain(self):
        """Skip what the application did not read, so the next request starts clean."""
        self._buf = b""
        while self._next() is not None:
            pass


def check_status(status):
    if type(status) is not str:
        raise SpecError(
            "start_response: the status must be a str like '200 OK', got %s %r"
            % (type(status).__name__, status)
        )
    if len(status) < 4 or not status[:3].isdigit() or status[3] != " ":
        raise SpecError(
            "start_response: the status must be three digits, a space and a reason "
            "phrase, like '200 OK'; got %r" % (status,)
        )


def check_headers(headers):
    if type(headers) is not list:
        raise SpecError(
            "start_response: the headers must be a list of (name, value) tuples, got %s"
            % type(headers).__name__
        )
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise SpecError(
                "start_response: each header must be a (name, value) tuple, got %r" % (item,)
            )
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise SpecError(
                "start_response: header names and values must be str, got (%s, %s) in %r"
                % (type(name).__name__, type(value).__name__, item)
            )
        if name.lower() in HOP_BY_HOP:
            raise SpecError(
                "start_response: %r is a hop-by-hop header; only the server may set it "
                "(PEP 3333)" % name
            )
        # Names and values that are not valid HTTP (a line break in a value, a space in a
        # name) are caught by the arbiter, which checks every header it sends anyway.


def load_application(kind, target, attr):
    """Import the application like gunicorn: `module:callable` or `path/file.py:callable`."""
    if kind == "file":
        import importlib.util

        path = os.path.abspath(target)
        name = os.path.splitext(os.path.basename(path))[0]
        sys.path.insert(0, os.path.dirname(path))
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None:
            raise ImportError("cannot load %s as Python source" % target)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        import importlib

        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(target)
    call = attr.endswith("()")
    obj = module
    for part in (attr[:-2] if call else attr).split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(
                "module %r has no attribute %r (APP is %s:%s)" % (target, part, target, attr)
            ) from None
    if call:
        obj = obj()
    if not callable(obj):
        raise TypeError("%s:%s is not callable (it is %s)" % (target, attr, type(obj).__name__))
    return obj


class Worker:
    def __init__(self, channel, app):
        self.channel = channel
        self.app = app
        self.base = {
            "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }
        try:
            from wsgiref.util import FileWrapper

            self.base["wsgi.file_wrapper"] = FileWrapper
        except ImportError:
            pass

    def serve(self):
        channel, base, call_app = self.channel, self.base, self.call_app
        unpack_u32 = U32.unpack_from
        while True:
            got = channel.read_frame()
            if got is None:
                return
            kind, payload = got
            if kind != 0x52:  # R
                continue
            (env_len,) = unpack_u32(payload, 1)
            items = payload[5 : 5 + env_len].decode("latin-1").split("\0")
            environ = base.copy()
            pairs = iter(items)
            environ.update(zip(pairs, pairs))
            body = Input(channel, payload[5 + env_len :], payload[0] == 2)
            environ["wsgi.input"] = body
            try:
                call_app(environ)
            finally:
                body.drain()

    def call_app(self, environ):
        channel = self.channel
        out = []  # frames not yet written: written together, in one syscall
        head = None  # (status, headers) from start_response
        sent = False  # has the head gone to the arbiter (it can no longer change)?

        def head_frame():
            status, headers = head
            text = "\0".join([status, *chain.from_iterable(headers)])
            if text.count("\0") != 2 * len(headers):
                raise SpecError(
                    "start_response: a header name or value contains a NUL character"
                )
            try:
                return frame(0x48, text.encode("latin-1"))
            except UnicodeEncodeError:
                raise SpecError(
                    "start_response: header values must be latin-1 text (PEP 3333); "
                    "encode other characters, e.g. with urllib.parse.quote"
                ) from None

        def start_response(status, headers, exc_info=None):
            nonlocal head
            if exc_info:
                try:
                    if sent:
                        # Too late to change the response: PEP 3333 says re-raise.
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif head is not None:
                raise SpecError(
                    "start_response was called a second time without exc_info; only an "
                    "error handler passing exc_info may replace the status and headers"
                )
            check_status(status)
            check_headers(headers)
            head = (status, headers)
            return write

        def body_chunk(data, flush):
            nonlocal sent
            if type(data) is not bytes:
                raise SpecError(
                    "the response body must be bytes, but the application gave %s %r; "
                    "encode text first, e.g. %r.encode('utf-8')"
                    % (type(data).__name__, data[:40], data[:20])
                    if isinstance(data, str)
                    else "the response body must be bytes, but the application gave %s"
                    % type(data).__name__
                )
            if not data:
                return
            if head is None:
                raise SpecError(
                    "the application returned a body without calling "
                    "start_response(status, headers) first"
                )
            if not sent:
                out.append(head_frame())
                sent = True
            out.append(frame(0x44, data))
            if flush:
                channel.write(b"".join(out))
                out.clear()

        def write(data):
            body_chunk(data, True)

        result = None
        finished = False  # the fast path below wrote the whole response already
        try:
            result = self.app(environ, start_response)
            if type(result) is list and not sent and head is not None:
                # The common case, a complete body: head, data and end in one write.
                try:
                    data = b"".join(result)
                except TypeError:
                    data = None  # not all bytes: the checks below say which rule broke
                if data is not None:
                    head_bytes = head_frame()
                    finished = True
                    if data:
                        data_header = HEADER.pack(0x44, len(data))
                        channel.write(b"".join((head_bytes, data_header, data, END_FRAME)))
                    else:
                        channel.write(head_bytes + END_FRAME)
                    return
            if isinstance(result, (str, bytes)) and not isinstance(result, bytes):
                raise SpecError(
                    "the application returned a str; it must return an iterable of bytes, "
                    "e.g. [body.encode('utf-8')]"
                )
            if isinstance(result, bytes):
                raise SpecError(
                    "the application returned bytes; it must return an iterable of bytes, "
                    "e.g. [body] (a bare bytes object would be sent one byte at a time)"
                )
            # A list is complete already: send it in one write. Anything else may be a
            # slow generator, so each chunk goes out as soon as it is yielded.
            flush = type(result) is not list and type(result) is not tuple
            for chunk in result:
                body_chunk(chunk, flush)
            if head is None:
                raise SpecError(
                    "the application returned without calling "
                    "start_response(status, headers)"
                )
            if not sent:
                out.append(head_frame())
                sent = True
        except SpecError as error:
            out.clear()
            self.report(out, "spec", str(error), None)
        except Exception as error:
            out.clear()
            tb = traceback.format_exception(type(error), error, error.__traceback__)
            # Drop this file's own frame: the learner's code is what matters.
            if len(tb) > 2 and ("wsgi_worker" in tb[1] or "<string>" in tb[1]):
                del tb[1]
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
            self.report(out, "exception", message, "".join(tb))
        finally:
            close = None if type(result) is list else getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as error:
                    tb = traceback.format_exception(type(error), error, error.__traceback__)
                    self.report(out, "exception", "close() raised %r" % error, "".join(tb))
            if not finished:
                out.append(END_FRAME)
                channel.write(b"".join(out))

    @staticmethod
    def report(out, kind, message, tb):
        data = {"kind": kind, "message": message}
        if tb:
            data["traceback"] = tb
        out.append(frame(0x58, json.dumps(data).encode("utf-8")))


def main():
    kind, target, attr = sys.argv[1], sys.argv[2], sys.argv[3]
    # The terminal's Ctrl-C reaches the whole process group; the arbiter decides what
    # happens on shutdown, so the worker must not die of KeyboardInterrupt mid-request.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # print() and C code writing to fd 1 land in stderr, not in the frames
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    channel = Channel(proto_in, proto_out)
    try:
        app = load_application(kind, target, attr)
    except BaseException as error:
        out = []
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        Worker.report(out, "boot", message, tb)
        channel.write(b"".join(out))
        sys.exit(3)  # gunicorn's WORKER_BOOT_ERROR
    channel.write(frame(0x42, str(os.getpid()).encode()))
    Worker(channel, app).serve()


main()
