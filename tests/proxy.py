"""A TCP proxy between runworker processes and PostgreSQL that a test can cut: to take
the database away for a while, or to lose the reply to one statement after the server
ran it (and committed it)."""

import contextlib
import socket
import threading


class Proxy:
    """Forwards 127.0.0.1:<port> to ``upstream``; ``cut()``, ``restore()``,
    ``lose_reply_to(marker)``."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.down = False
        self._marker: bytes | None = None
        self.lost_replies = 0
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str, user: str = "postgres") -> str:
        """A DATABASE_URL for ``database`` through this proxy."""
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def cut(self) -> None:
        """Drop every connection and refuse new ones until ``restore()``."""
        with self._lock:
            self.down = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            self._close(*pair)

    def restore(self) -> None:
        """Accept connections again."""
        self.down = False

    def lose_reply_to(self, marker: bytes) -> None:
        """The next statement containing ``marker`` runs on the server, but its reply is
        thrown away and the connection closed, as if the network failed right then."""
        self._marker = marker

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            state = {"lose": False}
            threading.Thread(
                target=self._pump, args=(client, server, state, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(server, client, state, False), daemon=True
            ).start()

    def _pump(self, source, target, state: dict, to_server: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if to_server and self._marker and self._marker in data:
                    self._marker = None
                    state["lose"] = True
                elif not to_server and state["lose"]:
                    self.lost_replies += 1
                    break  # the server ran it; the client never hears back
                target.sendall(data)
        except OSError:
            pass
        self._close(source, target)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
