"""The API Gateway emulator, with the backends it invokes, in a child process of its own.

In one process the CloudFront emulator and the API Gateway emulator would share one interpreter lock, so every
request through the edge would cost both parts' CPU time in sequence; deployed, they are separate services. The
child serves until its standard input closes (the parent stopped, or died), and tells the parent its port in one
line on its standard output; a child that cannot start says why in that line instead (never a traceback), and the
parent's ``ApiGatewayError`` passes it on.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from .apigateway import ApiGateway, TemplateError, load_template, start_server
from .http import PortInUseError, serve_in_thread

READY = "listening"
PORT_IN_USE = "port-in-use"
FAILED = "failed"
START_TIMEOUT = 30.0


class ApiGatewayError(RuntimeError):
    """The child process did not start serving."""


class ApiGatewayProcess:
    """Starts, and stops, ``python -m edge_router.local.apiprocess`` for one template, host and port."""

    def __init__(self, template: Path, host: str, port: int) -> None:
        self.template = template.resolve()
        self.host = host
        self.requested_port = port
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> int:
        """Start the child and return its port; ``PortInUseError`` names ``--api-port`` when the port is taken."""
        command = [sys.executable, "-m", __name__, "--template", str(self.template), "--host", self.host]
        process = subprocess.Popen(  # noqa: S603 - this interpreter, this module, our own arguments
            [*command, "--port", str(self.requested_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline() if process.stdout else ""))
        reader.start()
        reader.join(START_TIMEOUT)
        answer = line[0].split() if line else []
        if answer[:1] == [READY] and len(answer) == 2 and answer[1].isdigit():
            self.port = int(answer[1])
            return self.port
        self.stop()
        if answer[:1] == [PORT_IN_USE]:
            raise PortInUseError(self.host, self.requested_port, "--api-port")
        if answer[:1] == [FAILED] and len(answer) > 1:
            raise ApiGatewayError(f"the API Gateway emulator did not start: {' '.join(answer[1:])}")
        raise ApiGatewayError(f"the API Gateway emulator did not start (it said {' '.join(answer) or 'nothing'})")

    def stop(self) -> None:
        """Close the child's input (it stops serving and exits); kill it if it does not exit promptly."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: Sequence[str] | None = None) -> int:
    """The child: serve the template's API on host:port until standard input closes."""
    parser = argparse.ArgumentParser(prog="apiprocess")
    parser.add_argument("--template", type=Path, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the parent decides
    try:
        gateway = ApiGateway.from_template(load_template(args.template), args.template.parent)
        server = start_server(gateway, args.host, args.port)
    except PortInUseError:
        print(PORT_IN_USE, flush=True)
        return 1
    except Exception as error:  # one line for the parent to pass on (a template the routes cannot come from ...)
        print(FAILED, _one_line(error), flush=True)
        return 1
    thread = serve_in_thread(server, "apigateway")
    print(f"{READY} {server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0


def _one_line(error: Exception) -> str:
    """The error's message, and its type where the message alone would not say what failed."""
    text = " ".join(str(error).split())
    return text if isinstance(error, TemplateError) and text else f"{type(error).__name__}: {text}".rstrip(": ")


if __name__ == "__main__":
    sys.exit(main())
