"""A backend's HTTP server for health-check tests: serves files from a folder, and answers
GET /health with 200 while the folder holds `health`, 404 otherwise, except that the next
N requests fail with 503 when the folder holds `fail_next` containing N (it counts down), so a
test can script an outage of exactly N checks whatever the timing."""
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/health":
            return super().do_GET()
        folder = self.directory
        budget = os.path.join(folder, "fail_next")
        if os.path.exists(budget):
            left = int(open(budget).read() or 0)
            if left > 0:
                tmp = budget + ".tmp"
                with open(tmp, "w") as f:
                    f.write(str(left - 1))
                os.replace(tmp, budget)
                return self.send_error(503, "scripted failure")
        return super().do_GET()

    def log_message(self, *args):
        pass


def main():
    port, bind, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    handler = lambda *a, **kw: Handler(*a, directory=folder, **kw)  # noqa: E731
    http.server.ThreadingHTTPServer((bind, port), handler).serve_forever()


if __name__ == "__main__":
    main()
