"""A stand-in for an OpenAI-compatible vision model: it answers
POST /v1/chat/completions in the real wire format with a fixed caption, so
the MCP clients can caption through tessera without a real model.

    python3 fake_vision.py PORT_FILE   (writes the port it listens on)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CAPTION = "A small test image on a plain background"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the stdlib's name)
        length = int(self.headers.get("content-length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
            return
        body = json.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": request.get("model", "fake-vision"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": CAPTION},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as port_file:
    port_file.write(str(server.server_address[1]))
server.serve_forever()
