"""moto's server with one request at a time.

moto 5 answers requests on many threads without locking, and its DynamoDB
TransactWriteItems and conditional writes are not atomic under concurrency (a cancelled
transaction can even restore an older copy of the table). Real DynamoDB is atomic, and the
provider's race tests (one winner per code, per refresh token) rely on that. Holding one lock
around each request restores the atomicity the tests need; connections stay concurrent.

Usage: python moto_serial.py HOST PORT
"""
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            # Produce the whole body inside the lock: the work happens as it is iterated.
            return [b"".join(app(environ, start_response))]

    run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
