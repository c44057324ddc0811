#!/usr/bin/env python3
"""A loopback HTTP proxy in front of a hub that records request bodies sent
as Kubernetes protobuf (Content-Type application/vnd.kubernetes.protobuf).

Used to capture kubectl's own requests for tests/data/protobuf/:
    capture_proxy.py --upstream http://127.0.0.1:PORT --out DIR --port-file F
Each protobuf body is written as DIR/<n>-<method>-<resource>.pb, next to a
.meta line (method, path, content type)."""
import argparse
import http.client
import http.server
import os
import re
import urllib.parse


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="hub URL, http://127.0.0.1:PORT")
    ap.add_argument("--out", required=True, help="folder for captured bodies")
    ap.add_argument("--port-file", required=True, help="file to write the proxy's port into")
    a = ap.parse_args()
    up = urllib.parse.urlparse(a.upstream)
    os.makedirs(a.out, exist_ok=True)
    count = [0]

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            ct = self.headers.get("Content-Type", "")
            if body and "protobuf" in ct:
                count[0] += 1
                res = re.sub(r"[^a-z0-9]+", "_", urllib.parse.urlparse(self.path).path.lower()).strip("_")
                base = os.path.join(a.out, "%02d-%s-%s" % (count[0], self.command.lower(), res[-60:]))
                with open(base + ".pb", "wb") as f:
                    f.write(body)
                with open(base + ".meta", "w") as f:
                    f.write("%s %s %s\n" % (self.command, self.path, ct))
            c = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
            c.request(self.command, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            c.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
