"""A local stand-in for the two provider APIs mxcp calls to check opaque tokens, because the
real ones (api.github.com, oauth2.googleapis.com) cannot be reached from the tests. It speaks
their documented protocols:

- GitHub "Check a token": POST /applications/{client_id}/token, HTTP basic auth with the OAuth
  app's client id and secret, JSON body {"access_token": ...}; 200 with the token's user, scopes
  and app, 404 for a token this app did not issue (or wrong app credentials).
  https://docs.github.com/en/rest/apps/oauth-applications#check-a-token
- Google tokeninfo: POST /tokeninfo with the form field access_token; 200 with aud, azp, scope,
  exp (as a string), email; 400 for an unknown token.
  https://developers.google.com/identity/protocols/oauth2/native-app (tokeninfo endpoint)

Prints {"url": "http://127.0.0.1:PORT"} once listening; GET /stats counts the checks. Exits when
stdin closes.
"""
import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

APP = ("Iv1.testapp", "app-secret")
GOOGLE_CLIENT = "test-client.apps.googleusercontent.com"
GITHUB_TOKENS = {"gho_alice": {"login": "alice", "id": 101, "email": "alice@example.com", "name": "Alice"}}
GOOGLE_TOKENS = {
    "ya29.alice": {"aud": GOOGLE_CLIENT, "azp": GOOGLE_CLIENT, "sub": "1001", "email": "alice@example.com"},
    "ya29.other-app": {"aud": "other.apps.googleusercontent.com", "azp": "other.apps.googleusercontent.com",
                       "sub": "1002", "email": "eve@example.com"},
}
stats = {"github": 0, "google": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            return self.reply(200, stats)
        self.reply(404, {"message": "Not Found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == f"/applications/{APP[0]}/token":
            stats["github"] += 1
            basic = "Basic " + base64.b64encode(f"{APP[0]}:{APP[1]}".encode()).decode()
            token = json.loads(body or b"{}").get("access_token")
            if self.headers.get("authorization") != basic or token not in GITHUB_TOKENS:
                return self.reply(404, {"message": "Not Found"})
            return self.reply(200, {"id": 1, "token": token, "scopes": ["read:user", "user:email"],
                                    "app": {"client_id": APP[0], "name": "test"}, "expires_at": None,
                                    "user": GITHUB_TOKENS[token]})
        if self.path == "/tokeninfo":
            stats["google"] += 1
            token = parse_qs(body.decode()).get("access_token", [None])[0]
            if token not in GOOGLE_TOKENS:
                return self.reply(400, {"error_description": "Invalid Value"})
            info = dict(GOOGLE_TOKENS[token], scope="openid email", exp=str(int(time.time()) + 3600), expires_in="3600")
            return self.reply(200, info)
        self.reply(404, {"message": "Not Found"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    sys.stdin.read()  # until the test closes our stdin


if __name__ == "__main__":
    main()
