"""TLS, authentication, authorization and joining, against a real hub:
`atoll-hub init` + `serve --listen`, real kubectl with the generated
admin.kubeconfig, Python's ssl (OpenSSL) as an independent client, and
Python's cryptography to make CSRs and foreign certificates."""
import base64
import datetime
import hashlib
import http.client
import json
import os
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest
import yaml

from conftest import BIN, SEED, Hub, free_port, make_kubectl, stop_process

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HUB = os.path.join(BIN, "atoll-hub")


def hubcmd(*args, check=True):
    p = subprocess.run([HUB] + list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("atoll-hub %s failed: %s%s" % (" ".join(args), p.stdout, p.stderr))
    return p


def anon_ctx(hub):
    return hub.ssl_context()


def spki_hash(pem):
    cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def make_csr(cn, org=None):
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs)).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode()


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def join(hub, token, csr_pem, cluster=None):
    body = {"apiVersion": "atoll.io/v1alpha1", "kind": "JoinRequest", "csr": csr_pem}
    if cluster:
        body["cluster"] = cluster
    headers = {"Authorization": "Bearer " + token} if token else {}
    return hub.request("POST", "/apis/atoll.io/v1alpha1/join", body, headers=headers, context=anon_ctx(hub))


def create_token(hub, *args):
    p = hubcmd("token", "create", "--data-dir", hub.data_dir, "-o", "json", *args)
    return json.loads(p.stdout)


def agent_identity(hub, tmp_path, cluster):
    """Joins as cluster's agent; returns an ssl context with its certificate."""
    tok = create_token(hub, "--cluster", cluster)
    key, csr = make_csr("system:atoll:agent:" + cluster)
    code, body, _ = join(hub, tok["token"], csr)
    assert code == 201, body
    crt = write(str(tmp_path / (cluster + ".crt")), body["certificate"])
    k = write(str(tmp_path / (cluster + ".key")), key)
    return hub.ssl_context(crt, k)


# ---- init ---------------------------------------------------------------------


def test_init_writes_trust_and_rerun_keeps_it(tmp_path):
    d = str(tmp_path / "h")
    out = hubcmd("init", "--data-dir", d, "--hosts", "hub.example.com,10.9.8.7", "--port", "7443").stdout
    assert "CA certificate hash: sha256:" in out
    for name in ("ca.key", "hub.key", "admin.key", "admin.kubeconfig"):
        assert stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode) == 0o600, name
    kc = yaml.safe_load(open(os.path.join(d, "admin.kubeconfig")))
    cluster = kc["clusters"][0]["cluster"]
    assert cluster["server"] == "https://hub.example.com:7443"
    ca_pem = base64.b64decode(cluster["certificate-authority-data"])
    assert ca_pem == open(os.path.join(d, "ca.crt"), "rb").read()
    user = kc["users"][0]["user"]
    admin = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    assert b"PRIVATE KEY" in base64.b64decode(user["client-key-data"])
    srv = x509.load_pem_x509_certificate(open(os.path.join(d, "hub.crt"), "rb").read())
    san = srv.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"hub.example.com", "localhost"}
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} == {"10.9.8.7", "127.0.0.1"}
    eku = srv.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert srv.signature_hash_algorithm.name == "sha256"
    # The printed hash is kubeadm's: SHA-256 of the CA's SubjectPublicKeyInfo.
    assert "CA certificate hash: " + spki_hash(ca_pem) in out
    before = {n: open(os.path.join(d, n), "rb").read() for n in ("ca.crt", "ca.key", "hub.crt", "admin.crt", "admin.kubeconfig")}
    out2 = hubcmd("init", "--data-dir", d).stdout
    assert "kept" in out2
    after = {n: open(os.path.join(d, n), "rb").read() for n in before}
    assert before == after


def test_serve_without_init_says_what_to_do(tmp_path):
    p = subprocess.run([HUB, "serve", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert "atoll-hub init" in p.stdout + p.stderr


# ---- kubectl over TLS -------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_kubectl_over_tls(tls_hub, tmp_path, version):
    k = make_kubectl(tls_hub, tmp_path, version)
    # As written by init: https://127.0.0.1:<port>, everything embedded.
    kc = yaml.safe_load(open(tls_hub.kubeconfig))
    assert kc["clusters"][0]["cluster"]["server"] == tls_hub.https_url
    k("apply", "-f", os.path.join(SEED, "deployment.yaml"))
    out = k("get", "deployments").stdout
    assert "hello" in out
    k("scale", "deployment/hello", "--replicas=7")
    assert k("get", "deployment", "hello", "-o", "jsonpath={.spec.replicas}").stdout == "7"
    assert "hello" in k("get", "services").stdout
    assert "clusters" in k("api-resources").stdout


def test_watch_over_tls(tls_hub, tmp_path):
    k = make_kubectl(tls_hub, tmp_path, "1.33")
    code, body, _ = tls_hub.request("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before"}})
    assert code == 201, body
    p = subprocess.Popen([k.binary, "get", "configmaps", "-w", "--request-timeout=20s"],
                         env=dict(os.environ, HOME=k.home, KUBECONFIG=tls_hub.kubeconfig),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        t = threading.Thread(target=lambda: seen.extend(iter(p.stdout.readline, "")), daemon=True)
        t.start()
        # The initial list names "before": the watch is established from there on.
        deadline = time.time() + 20
        while time.time() < deadline and not any(line.startswith("before") for line in seen):
            time.sleep(0.05)
        assert any(line.startswith("before") for line in seen), seen
        for i in range(3):
            code, body, _ = tls_hub.request("POST", "/api/v1/namespaces/default/configmaps",
                                            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w%d" % i}})
            assert code == 201, body
        deadline = time.time() + 10
        while time.time() < deadline and sum("w" in line for line in seen) < 3:
            time.sleep(0.1)
        assert sum(line.startswith("w") for line in seen) >= 3, seen
    finally:
        p.kill()
        p.wait()


# ---- authentication ---------------------------------------------------------------


def test_anonymous_is_401_except_health(tls_hub):
    ctx = anon_ctx(tls_hub)
    for path in ("/healthz", "/readyz", "/livez"):
        code, body, _ = tls_hub.request("GET", path, context=ctx)
        assert code == 200, (path, body)
    for path in ("/api/v1/namespaces", "/version", "/apis", "/api/v1/namespaces/default/secrets", "/metrics"):
        code, body, _ = tls_hub.request("GET", path, context=ctx)
        assert code == 401, (path, body)
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized", body
    code, body, _ = tls_hub.request("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, context=ctx)
    assert code == 401
    # Bad bearer tokens are 401 too, with a reason.
    code, body, _ = tls_hub.request("GET", "/api/v1/namespaces", context=ctx,
                                    headers={"Authorization": "Bearer not-a-token"})
    assert code == 401 and "invalid bearer token" in body["message"]


def make_foreign_client_cert(tmp_path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atoll-ca")])
    now = datetime.datetime.utcnow()
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")])
    crt = (x509.CertificateBuilder().subject_name(subj).issuer_name(name).public_key(key.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
           .not_valid_after(now + datetime.timedelta(days=1)).sign(ca_key, hashes.SHA256()))
    c = write(str(tmp_path / "evil.crt"), crt.public_bytes(serialization.Encoding.PEM).decode())
    k = write(str(tmp_path / "evil.key"), key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()).decode())
    return c, k


def test_client_certificate_from_another_ca_is_refused(tls_hub, tmp_path):
    # Same subject as the real admin ("admin", system:masters), wrong issuer.
    c, k = make_foreign_client_cert(tmp_path)
    # ssl.SSLError, a reset, or urllib's URLError around either: all OSError.
    with pytest.raises((OSError, http.client.RemoteDisconnected)):
        tls_hub.request("GET", "/api/v1/namespaces", context=tls_hub.ssl_context(c, k))
    assert "refusing client certificate" in tls_hub.read_log()
    code, _, _ = tls_hub.request("GET", "/api/v1/namespaces")
    assert code == 200


def test_plain_http_to_tls_port_is_refused_cleanly(tls_hub):
    s = socket.create_connection(("127.0.0.1", tls_hub.tls_port), timeout=5)
    s.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 400 Bad Request"), data
    assert b"Client sent an HTTP request to an HTTPS server." in data
    code, _, _ = tls_hub.request("GET", "/healthz")
    assert code == 200


def test_slowloris_is_cut_off_while_others_are_served(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    h = Hub(str(d), extra=["--header-timeout", "1s"], tls=True, insecure=False).start()
    try:
        raw = socket.create_connection(("127.0.0.1", h.tls_port), timeout=10)
        slow = h.admin_ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        slow.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        closed_after = None
        served = 0
        while time.time() - t0 < 6:
            try:
                slow.sendall(b"X")  # one byte at a time, never finishing the head
            except OSError:
                closed_after = time.time() - t0
                break
            code, _, _ = h.request("GET", "/api/v1/namespaces/default/configmaps", timeout=2)
            assert code == 200
            served += 1
            slow.settimeout(0.2)
            try:
                if slow.recv(1) == b"":
                    closed_after = time.time() - t0
                    break
            except socket.timeout:
                pass
            except (ssl.SSLError, OSError):
                closed_after = time.time() - t0
                break
        assert closed_after is not None and closed_after < 4, closed_after
        assert served >= 2
        assert "request head not complete" in h.read_log()
    finally:
        assert h.stop() == 0


def test_silent_client_is_cut_off_at_handshake_deadline(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    h = Hub(str(d), extra=["--tls-handshake-timeout", "1s"], tls=True, insecure=False).start()
    try:
        s = socket.create_connection(("127.0.0.1", h.tls_port), timeout=5)
        t0 = time.time()
        assert s.recv(1) == b""
        assert time.time() - t0 < 3
        code, _, _ = h.request("GET", "/healthz")
        assert code == 200
    finally:
        assert h.stop() == 0


def test_connections_per_client_are_limited(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    h = Hub(str(d), extra=["--max-connections-per-client", "4"], tls=True, insecure=False).start()
    try:
        socks = [socket.create_connection(("127.0.0.1", h.tls_port), timeout=2) for _ in range(6)]
        closed = 0
        for s in socks[4:]:
            s.settimeout(1)
            try:
                closed += s.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass
        assert closed == 2
        for s in socks:
            s.close()
        time.sleep(0.2)
        code, _, _ = h.request("GET", "/healthz")
        assert code == 200
    finally:
        assert h.stop() == 0


# ---- joining ----------------------------------------------------------------------


def test_token_create_prints_token_and_ca_hash(tls_hub):
    tok = create_token(tls_hub)
    assert set(tok) >= {"token", "caCertHash"}
    tid, secret = tok["token"].split(".")
    assert len(tid) == 6 and len(secret) == 16 and (tid + secret).isalnum() and (tid + secret).islower()
    assert tok["caCertHash"] == spki_hash(open(os.path.join(tls_hub.data_dir, "ca.crt")).read())
    stored = open(os.path.join(tls_hub.data_dir, "tokens.json")).read()
    assert secret not in stored and tid in stored
    assert stat.S_IMODE(os.stat(os.path.join(tls_hub.data_dir, "tokens.json")).st_mode) == 0o600
    text = hubcmd("token", "create", "--data-dir", tls_hub.data_dir, "--ttl", "1h").stdout
    assert "token: " in text and "caCertHash: sha256:" in text


def test_join_with_token_and_csr(tls_hub, tmp_path):
    tok = create_token(tls_hub, "--ttl", "10m")
    # 1. The agent fetches the CA anonymously, unverified, and pins it by hash.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    code, info, _ = tls_hub.request("GET", "/apis/atoll.io/v1alpha1/join", context=ctx)
    assert code == 200 and info["kind"] == "JoinInfo"
    assert spki_hash(info["caBundle"]) == tok["caCertHash"]
    # 2. Then it sends its CSR with the token, verifying the hub with that CA.
    key, csr = make_csr("system:atoll:agent:eu", "system:masters")  # asks for too much
    code, body, _ = join(tls_hub, tok["token"], csr, cluster="eu")
    assert code == 201, body
    assert body["kind"] == "JoinResponse" and body["cluster"] == "eu"
    crt = x509.load_pem_x509_certificate(body["certificate"].encode())
    assert crt.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:atoll:agent:eu"
    # O is the agents group, not what the CSR asked for.
    assert [a.value for a in crt.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:atoll:agents"]
    ca = x509.load_pem_x509_certificate(body["caBundle"].encode())
    ca.public_key().verify(crt.signature, crt.tbs_certificate_bytes, ec.ECDSA(crt.signature_hash_algorithm))
    assert ExtendedKeyUsageOID.CLIENT_AUTH in crt.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # 3. The certificate works as the eu agent's identity ...
    agent = tls_hub.ssl_context(write(str(tmp_path / "a.crt"), body["certificate"]), write(str(tmp_path / "a.key"), key))
    code, _, _ = tls_hub.request("GET", "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-eu/works", context=agent)
    assert code == 200
    # ... and renews itself, for eu only.
    _, csr2 = make_csr("system:atoll:agent:eu")
    code, body2, _ = tls_hub.request("POST", "/apis/atoll.io/v1alpha1/join",
                                     {"apiVersion": "atoll.io/v1alpha1", "kind": "JoinRequest", "csr": csr2},
                                     context=agent)
    assert code == 201, body2
    _, csr3 = make_csr("system:atoll:agent:ap")
    code, body3, _ = tls_hub.request("POST", "/apis/atoll.io/v1alpha1/join",
                                     {"apiVersion": "atoll.io/v1alpha1", "kind": "JoinRequest", "csr": csr3},
                                     context=agent)
    assert code == 403, body3


def test_join_refusals_are_clear(tls_hub):
    _, csr_eu = make_csr("system:atoll:agent:eu")
    _, csr_ap = make_csr("system:atoll:agent:ap")
    # No token.
    code, body, _ = join(tls_hub, None, csr_eu)
    assert code == 401 and "bootstrap token" in body["message"], body
    # Unknown token.
    code, body, _ = join(tls_hub, "abcdef.0123456789abcdef", csr_eu)
    assert code == 401 and body["reason"] == "Unauthorized", body
    assert 'token "abcdef" is not known' in body["message"], body
    # Expired token.
    tok = create_token(tls_hub, "--ttl", "1s")
    time.sleep(1.2)
    code, body, _ = join(tls_hub, tok["token"], csr_eu)
    assert code == 401 and "expired" in body["message"], body
    # A token bound to eu does not sign for ap.
    tok = create_token(tls_hub, "--cluster", "eu")
    code, body, _ = join(tls_hub, tok["token"], csr_ap)
    assert code == 403, body
    tid = tok["token"].split(".")[0]
    assert body["message"] == 'join refused: bootstrap token "%s" may only join cluster "eu", not "ap"' % tid
    code, body, _ = join(tls_hub, tok["token"], csr_eu)
    assert code == 201, body
    # A CSR that does not name an agent, and garbage.
    _, csr_admin = make_csr("admin", "system:masters")
    code, body, _ = join(tls_hub, tok["token"], csr_admin)
    assert code == 400 and "system:atoll:agent:" in body["message"], body
    code, body, _ = join(tls_hub, tok["token"], "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    assert code == 400, body
    # A bootstrap token is good for joining and nothing else.
    code, body, _ = tls_hub.request("GET", "/api/v1/namespaces", context=anon_ctx(tls_hub),
                                    headers={"Authorization": "Bearer " + tok["token"]})
    assert code == 403, body


# ---- authorization ---------------------------------------------------------------


def seed_clusters_and_works(hub):
    for c in ("eu", "ap"):
        code, body, _ = hub.request("POST", "/apis/cluster.karmada.io/v1alpha1/clusters", {
            "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": c},
            "spec": {"syncMode": "Pull"}})
        assert code == 201, body
        hub.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "karmada-es-" + c}})
        code, body, _ = hub.request("POST", "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works" % c, {
            "apiVersion": "work.karmada.io/v1alpha1", "kind": "Work", "metadata": {"name": "w-" + c},
            "spec": {"workload": {"manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]}}})
        assert code == 201, body
    hub.request("POST", "/api/v1/namespaces/default/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                               "metadata": {"name": "s"}, "data": {"k": "dg=="}})


def test_agent_may_touch_only_its_own_cluster(tls_hub, tmp_path):
    seed_clusters_and_works(tls_hub)
    eu = agent_identity(tls_hub, tmp_path, "eu")
    W = "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-%s/works"
    code, body, _ = tls_hub.request("GET", W % "eu", context=eu)
    assert code == 200 and [w["metadata"]["name"] for w in body["items"]] == ["w-eu"]
    code, body, _ = tls_hub.request("GET", W % "eu" + "/w-eu", context=eu)
    assert code == 200
    code, body, _ = tls_hub.request("GET", W % "ap", context=eu)
    assert code == 403, body
    assert body["kind"] == "Status" and body["reason"] == "Forbidden"
    assert body["message"] == ('works.work.karmada.io is forbidden: User "system:atoll:agent:eu" cannot list resource '
                               '"works" in API group "work.karmada.io" in the namespace "karmada-es-ap"')
    code, body, _ = tls_hub.request("GET", W % "ap" + "/w-ap", context=eu)
    assert code == 403
    assert body["message"].startswith('works.work.karmada.io "w-ap" is forbidden: User "system:atoll:agent:eu" cannot get')
    code, body, _ = tls_hub.request("GET", "/apis/work.karmada.io/v1alpha1/works", context=eu)
    assert code == 403
    # Work status: its own yes, ap's no; the Work itself is read-only.
    patch = {"status": {"conditions": [{"type": "Applied", "status": "True", "reason": "AppliedSuccessful",
                                        "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    code, body, _ = tls_hub.request("PATCH", W % "eu" + "/w-eu/status", patch, ctype="application/merge-patch+json", context=eu)
    assert code == 200, body
    code, body, _ = tls_hub.request("PATCH", W % "ap" + "/w-ap/status", patch, ctype="application/merge-patch+json", context=eu)
    assert code == 403, body
    code, body, _ = tls_hub.request("DELETE", W % "eu" + "/w-eu", context=eu)
    assert code == 403, body
    # Cluster status: its own yes, ap's no.
    C = "/apis/cluster.karmada.io/v1alpha1/clusters/%s/status"
    st = {"status": {"kubernetesVersion": "v1.23.8"}}
    code, body, _ = tls_hub.request("PATCH", C % "eu", st, ctype="application/merge-patch+json", context=eu)
    assert code == 200, body
    code, body, _ = tls_hub.request("PATCH", C % "ap", st, ctype="application/merge-patch+json", context=eu)
    assert code == 403, body
    assert 'cannot patch resource "clusters/status" in API group "cluster.karmada.io" at the cluster scope' in body["message"]
    # No Secrets, no templates, no cluster list.
    for path in ("/api/v1/namespaces/default/secrets", "/api/v1/namespaces/default/secrets/s", "/api/v1/secrets",
                 "/apis/apps/v1/namespaces/default/deployments", "/apis/cluster.karmada.io/v1alpha1/clusters"):
        code, body, _ = tls_hub.request("GET", path, context=eu)
        assert code == 403, (path, body)
    # The agent protocol: its own cluster's endpoints only.
    code, body, _ = tls_hub.request("GET", "/apis/atoll.io/v1alpha1/clusters/ap/works?timeoutSeconds=1", context=eu)
    assert code == 403, body
    code, body, _ = tls_hub.request("GET", "/apis/atoll.io/v1alpha1/clusters/eu/works?timeoutSeconds=1", context=eu)
    assert code != 403 and code != 401, body
    # Admin still may do everything.
    code, _, _ = tls_hub.request("GET", W % "ap")
    assert code == 200


def test_dashboard_token_is_read_only_without_secrets(tls_hub):
    seed_clusters_and_works(tls_hub)
    tok = create_token(tls_hub, "--user", "dashboard", "--group", "system:atoll:viewers", "--ttl", "1h")
    hdr = {"Authorization": "Bearer " + tok["token"]}
    ctx = anon_ctx(tls_hub)
    for path in ("/apis/apps/v1/deployments", "/apis/cluster.karmada.io/v1alpha1/clusters", "/api/v1/namespaces"):
        code, body, _ = tls_hub.request("GET", path, context=ctx, headers=hdr)
        assert code == 200, (path, body)
    for path in ("/api/v1/namespaces/default/secrets", "/api/v1/secrets",
                 "/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-eu/works"):
        code, body, _ = tls_hub.request("GET", path, context=ctx, headers=hdr)
        assert code == 403, (path, body)
    code, body, _ = tls_hub.request("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                                    context=ctx, headers=hdr)
    assert code == 403 and 'User "dashboard" cannot create resource "configmaps"' in body["message"], body



def https(hub, method, path, headers=None):
    """One request on a fresh connection, no redirects followed."""
    conn = http.client.HTTPSConnection("127.0.0.1", hub.tls_port, context=anon_ctx(hub), timeout=10)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    return conn, r


def test_dashboard_token_via_cookie(tls_hub):
    """A browser's EventSource sends no Authorization header: visiting
    /dashboard?token=T once sets a cookie that /dashboard and /status
    accept, and nothing else."""
    seed_clusters_and_works(tls_hub)
    tok = create_token(tls_hub, "--user", "dashboard", "--group", "system:atoll:viewers", "--ttl", "1h")
    secret = tok["token"].split(".")[1]
    # The viewer token itself: /status yes, Secrets no.
    hdr = {"Authorization": "Bearer " + tok["token"]}
    code, body, _ = tls_hub.request("GET", "/status", context=anon_ctx(tls_hub), headers=hdr)
    assert code == 200 and body["schemaVersion"] == "atoll.status/v1", body
    code, body, _ = tls_hub.request("GET", "/api/v1/namespaces/default/secrets", context=anon_ctx(tls_hub), headers=hdr)
    assert code == 403, body
    # Without any token the dashboard is 401.
    conn, r = https(tls_hub, "GET", "/dashboard")
    assert r.status == 401
    r.read()
    conn.close()
    # Login: 303 to /dashboard (the token out of the address) with the cookie.
    conn, r = https(tls_hub, "GET", "/dashboard?token=" + tok["token"])
    r.read()
    conn.close()
    assert r.status == 303 and r.getheader("Location") == "/dashboard"
    cookies = r.msg.get_all("Set-Cookie")
    assert len(cookies) == 2, cookies
    for c, path in zip(cookies, ("/dashboard", "/status")):
        attrs = [a.strip() for a in c.split(";")]
        assert attrs[0] == "atoll-token=" + tok["token"], c
        assert "Path=" + path in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Secure" in attrs, c
    cookie = {"Cookie": "theme=dark; atoll-token=" + tok["token"]}
    conn, r = https(tls_hub, "GET", "/dashboard", cookie)
    page = r.read()
    conn.close()
    assert r.status == 200 and b"<html" in page.lower()
    conn, r = https(tls_hub, "GET", "/status", cookie)
    st = json.loads(r.read())
    conn.close()
    assert r.status == 200 and st["schemaVersion"] == "atoll.status/v1"
    assert {c["name"] for c in st["clusters"]} >= {"eu", "ap"}
    # The live feed, as EventSource asks for it.
    conn, r = https(tls_hub, "GET", "/status?watch=true", dict(cookie, Accept="text/event-stream"))
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
    lines = [r.readline() for _ in range(6)]
    data = [l for l in lines if l.startswith(b"data: ")]
    assert data and json.loads(data[0][6:])["schemaVersion"] == "atoll.status/v1", lines
    conn.close()
    # The cookie is good for the dashboard only: elsewhere it is no credential.
    conn, r = https(tls_hub, "GET", "/api/v1/namespaces/default/secrets", cookie)
    r.read()
    conn.close()
    assert r.status == 401
    conn, r = https(tls_hub, "GET", "/api/v1/namespaces", cookie)
    r.read()
    conn.close()
    assert r.status == 401
    # A bad or unknown cookie token is 401, saying how to log in again.
    conn, r = https(tls_hub, "GET", "/status", {"Cookie": "atoll-token=abcdef.0123456789abcdef"})
    body = json.loads(r.read())
    conn.close()
    assert r.status == 401 and "/dashboard?token=" in body["message"], body
    # A bootstrap token does not open the dashboard; an unknown one sets no cookie.
    boot = create_token(tls_hub, "--cluster", "eu")
    conn, r = https(tls_hub, "GET", "/dashboard?token=" + boot["token"])
    r.read()
    conn.close()
    assert r.status == 403 and not r.getheader("Set-Cookie")
    conn, r = https(tls_hub, "GET", "/dashboard?token=abcdef.0123456789abcdef")
    r.read()
    conn.close()
    assert r.status == 401 and not r.getheader("Set-Cookie")
    # The token is never logged.
    assert secret not in tls_hub.read_log()


# ---- certificate renewal -------------------------------------------------------


def peer_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def test_serving_certificate_is_renewed_without_downtime(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    h = Hub(str(d), tls=True, insecure=False, extra=["--cert-check-interval", "500ms"])
    # A short-lived certificate (same hosts as the fixture's init, which then
    # keeps it): due for renewal about 7 seconds after start.
    h.tls_port = free_port()
    hubcmd("init", "--data-dir", str(d), "--hosts", "127.0.0.1,localhost", "--port", str(h.tls_port),
           "--serving-cert-validity", "160s")
    h.start()
    try:
        first = peer_cert(h.tls_port)
        conn = http.client.HTTPSConnection("127.0.0.1", h.tls_port, context=h.admin_ctx, timeout=5)
        conn.request("GET", "/api/v1/namespaces")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        deadline = time.time() + 20
        while time.time() < deadline and peer_cert(h.tls_port) == first:
            time.sleep(0.3)
        second = peer_cert(h.tls_port)
        assert second != first, "the serving certificate was not renewed"
        new = x509.load_der_x509_certificate(second)
        assert new.not_valid_after - datetime.datetime.utcnow() > datetime.timedelta(days=300)
        # The connection opened before the renewal keeps working ...
        conn.request("GET", "/api/v1/namespaces")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        conn.close()
        # ... and new ones verify against the same CA.
        code, _, _ = h.request("GET", "/api/v1/namespaces")
        assert code == 200
        assert "renewed the serving certificate" in h.read_log()
    finally:
        assert h.stop() == 0


def test_only_tls12_aead_with_ecdhe(tls_hub):
    def connect(ctx):
        with socket.create_connection(("127.0.0.1", tls_hub.tls_port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                return t.version(), t.cipher()[0]
    ctx = tls_hub.ssl_context()
    version, cipher = connect(ctx)
    assert version == "TLSv1.2" and ("GCM" in cipher or "CHACHA20" in cipher), (version, cipher)
    assert cipher.startswith("ECDHE-")
    # CBC suites and static-RSA key exchange are refused.
    weak = tls_hub.ssl_context()
    weak.maximum_version = ssl.TLSVersion.TLSv1_2
    weak.set_ciphers("AES128-SHA:AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384")
    with pytest.raises(ssl.SSLError):
        connect(weak)


# ---- the agent joins -------------------------------------------------------------

from test_agent import Member, work, put_work, cluster_ready, wait_for  # noqa: E402

AGENT = os.path.join(BIN, "atoll-agent")
TOKEN_ANY = "abcdef.0123456789abcdef"


class JoiningAgent:
    """atoll-agent against the TLS hub, joining with a token."""

    def __init__(self, tmp, hub, kubeconfig, cluster="eu"):
        self.dir = os.path.join(str(tmp), "agent-" + cluster)
        os.makedirs(self.dir, exist_ok=True)
        self.state = os.path.join(self.dir, "state")
        self.hub, self.kubeconfig, self.cluster = hub, kubeconfig, cluster
        self.proc = None
        self.logpath = os.path.join(self.dir, "agent.log")

    def argv(self, *extra):
        return [AGENT, "--hub", self.hub.https_url, "--cluster-name", self.cluster, "--kubeconfig", self.kubeconfig,
                "--state-dir", self.state, "--heartbeat-interval", "1s", "--lease-duration", "4s",
                "--poll-timeout", "5s"] + list(extra)

    def start(self, *extra):
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(*extra), stdout=self.log, stderr=self.log)
        return self

    def run(self, *extra, timeout=20):
        """Runs to completion (a refused join); returns (rc, output)."""
        p = subprocess.run(self.argv(*extra), capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr

    def read_log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        return stop_process(self.proc, self.log)


def exec_ns(hub, cluster):
    hub.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "karmada-es-" + cluster}})


def cm_manifest(name, ns="apps"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": {"k": name}}


def member_has(member, name, ns="apps"):
    code, _, _ = member.get("/api/v1/namespaces/%s/configmaps/%s" % (ns, name))
    return code == 200


def cert_subject_cn(pem):
    crt = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    return crt.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, crt


def test_agent_joins_with_a_token_and_keeps_its_certificate(tls_hub, tmp_path):
    member = Member(str(tmp_path)).start()
    exec_ns(tls_hub, "eu")
    tok = create_token(tls_hub, "--cluster", "eu", "--ttl", "10m")
    agent = JoiningAgent(tmp_path, tls_hub, member.kubeconfig)
    secret = tok["token"].split(".")[1]
    try:
        agent.start("--token", tok["token"], "--ca-cert-hash", tok["caCertHash"])
        wait_for("cluster eu Ready", lambda: cluster_ready(tls_hub) == "True", timeout=20)
        # Key, certificate and the pinned CA, 0600, in a 0700 state directory.
        assert stat.S_IMODE(os.stat(agent.state).st_mode) == 0o700
        for name in ("agent.key", "agent.crt", "ca.crt"):
            assert stat.S_IMODE(os.stat(os.path.join(agent.state, name)).st_mode) == 0o600, name
        ca_pem = open(os.path.join(tls_hub.data_dir, "ca.crt")).read()
        assert open(os.path.join(agent.state, "ca.crt")).read() == ca_pem
        crt_pem = open(os.path.join(agent.state, "agent.crt")).read()
        cn, crt = cert_subject_cn(crt_pem)
        assert cn == "system:atoll:agent:eu"
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
        ca.public_key().verify(crt.signature, crt.tbs_certificate_bytes, ec.ECDSA(crt.signature_hash_algorithm))
        key = serialization.load_pem_private_key(open(os.path.join(agent.state, "agent.key"), "rb").read(), None)
        assert key.public_key().public_numbers() == crt.public_key().public_numbers()
        assert "join: signed a certificate for cluster eu" in tls_hub.read_log()
        # Its Works reach the member (the agent talks to the hub with that certificate).
        put_work(tls_hub, work("w1", cm_manifest("one")))
        wait_for("w1 applied in the member", lambda: member_has(member, "one"), timeout=15)
        assert agent.stop() == 0
        # Restart without a token: the state directory is enough.
        agent.start()
        put_work(tls_hub, work("w2", cm_manifest("two")))
        wait_for("w2 applied after a restart", lambda: member_has(member, "two"), timeout=15)
        assert "using the agent certificate from the state directory" in agent.read_log()
        assert open(os.path.join(agent.state, "agent.crt")).read() == crt_pem
        assert agent.stop() == 0
        # Renewal through the join endpoint, authenticated by the certificate.
        agent.start("--cert-renew-before", "2400h")
        wait_for("a renewed certificate", lambda: open(os.path.join(agent.state, "agent.crt")).read() != crt_pem,
                 timeout=15)
        # the file is written before the line is logged
        wait_for("the renewal logged", lambda: "renewed the agent certificate" in agent.read_log(), timeout=5)
        new_cn, new = cert_subject_cn(open(os.path.join(agent.state, "agent.crt")).read())
        assert new_cn == "system:atoll:agent:eu" and new.serial_number != crt.serial_number
        key2 = serialization.load_pem_private_key(open(os.path.join(agent.state, "agent.key"), "rb").read(), None)
        assert key2.public_key().public_numbers() == new.public_key().public_numbers()
        assert stat.S_IMODE(os.stat(os.path.join(agent.state, "agent.key")).st_mode) == 0o600
        put_work(tls_hub, work("w3", cm_manifest("three")))
        wait_for("w3 applied after the renewal", lambda: member_has(member, "three"), timeout=15)
        assert agent.stop() == 0
        # The token never appears in a log.
        assert secret not in agent.read_log() and secret not in tls_hub.read_log()
    except Exception:
        print("agent log:\n" + agent.read_log()[-6000:])
        print("hub log:\n" + tls_hub.read_log())
        raise
    finally:
        agent.stop()
        assert member.stop() == 0


def refused(tls_hub, tmp_path, cluster, *args):
    kc = write(str(tmp_path / "member.kubeconfig"),
               "apiVersion: v1\nkind: Config\nclusters: [{name: m, cluster: {server: 'http://127.0.0.1:1'}}]\n"
               "contexts: [{name: m, context: {cluster: m, user: u}}]\ncurrent-context: m\n"
               "users: [{name: u, user: {}}]\n")
    agent = JoiningAgent(tmp_path, tls_hub, kc, cluster=cluster)
    rc, out = agent.run(*args)
    assert rc != 0, out
    # Nothing written: no key, no certificate, not even the directory.
    assert not os.path.exists(agent.state) or os.listdir(agent.state) == [], os.listdir(agent.state)
    return out


def test_long_poll_client_gone(tls_hub, tmp_path):
    """Agents that go away while their long-poll waits (over TLS the hub
    sees the close at once): the hub frees the request it held (under
    `make asan` a leak fails the fixture's clean-shutdown check) and keeps
    answering."""
    ctx = agent_identity(tls_hub, tmp_path, "eu")
    base = "/apis/atoll.io/v1alpha1/clusters/eu/works"
    code, full, _ = tls_hub.request("GET", base, context=ctx)
    assert code == 200, full
    for _ in range(3):
        raw = socket.create_connection(("127.0.0.1", tls_hub.tls_port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(("GET %s?revision=%s&timeoutSeconds=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                   % (base, full["revision"])).encode())
        time.sleep(0.3)  # the poll waits now
        s.close()
    time.sleep(0.3)
    code, ans, _ = tls_hub.request("GET", base + "?revision=%s&timeoutSeconds=0" % full["revision"], context=ctx)
    assert code == 200 and ans["events"] == [], ans


def test_agent_join_refusals_are_clear(tls_hub, tmp_path):
    tok = create_token(tls_hub, "--cluster", "eu")
    # A wrong CA hash: stops before the token is sent.
    before = tls_hub.read_log()
    out = refused(tls_hub, tmp_path, "eu", "--token", tok["token"], "--ca-cert-hash", "sha256:" + "0" * 64)
    assert "the hub's CA does not match --ca-cert-hash" in out and "the token was not sent" in out, out
    assert tok["caCertHash"] in out  # what the hub presented
    assert "join" not in tls_hub.read_log()[len(before):]
    # An unknown token.
    out = refused(tls_hub, tmp_path, "eu", "--token", TOKEN_ANY, "--ca-cert-hash", tok["caCertHash"])
    assert 'token "abcdef" is not known to this hub' in out and "HTTP 401" in out, out
    # An expired token.
    old = create_token(tls_hub, "--cluster", "eu", "--ttl", "1s")
    time.sleep(1.2)
    out = refused(tls_hub, tmp_path, "eu", "--token", old["token"], "--ca-cert-hash", old["caCertHash"])
    assert "expired at" in out and "atoll-hub token create" in out, out
    # Another cluster's token.
    tid = tok["token"].split(".")[0]
    out = refused(tls_hub, tmp_path, "ap", "--token", tok["token"], "--ca-cert-hash", tok["caCertHash"])
    assert 'bootstrap token "%s" may only join cluster "eu", not "ap"' % tid in out, out
    # Usage errors say what is missing.
    out = refused(tls_hub, tmp_path, "eu", "--token", tok["token"])
    assert "--ca-cert-hash" in out
    out = refused(tls_hub, tmp_path, "eu", "--token", tok["token"], "--ca-cert-hash", "sha256:abc")
    assert "invalid --ca-cert-hash" in out
    missing = str(tmp_path / "no-such-token")
    out = refused(tls_hub, tmp_path, "eu", "--token-file", missing, "--ca-cert-hash", tok["caCertHash"])
    assert "token file %s: No such file or directory" % missing in out, out
    empty = write(str(tmp_path / "empty-token"), " \n")
    out = refused(tls_hub, tmp_path, "eu", "--token-file", empty, "--ca-cert-hash", tok["caCertHash"])
    assert "token file %s is empty" % empty in out, out
    # None of these used the token: it still joins.
    code, body, _ = join(tls_hub, tok["token"], make_csr("system:atoll:agent:eu")[1])
    assert code == 201, body


def test_agent_without_token_or_certificate_after_expiry_says_so(tls_hub, tmp_path):
    """A state directory whose certificate is not usable (here: for another
    cluster) and no token: exit non-zero, naming the file."""
    tok = create_token(tls_hub, "--cluster", "eu")
    key, csr = make_csr("system:atoll:agent:eu")
    code, body, _ = join(tls_hub, tok["token"], csr)
    assert code == 201
    kc = write(str(tmp_path / "kc"),
               "apiVersion: v1\nkind: Config\nclusters: [{name: m, cluster: {server: 'http://127.0.0.1:1'}}]\n"
               "contexts: [{name: m, context: {cluster: m, user: u}}]\ncurrent-context: m\n"
               "users: [{name: u, user: {}}]\n")
    agent = JoiningAgent(tmp_path, tls_hub, kc, cluster="ap")
    os.makedirs(agent.state, mode=0o700)
    write(os.path.join(agent.state, "agent.key"), key)
    write(os.path.join(agent.state, "agent.crt"), body["certificate"])
    write(os.path.join(agent.state, "ca.crt"), body["caBundle"])
    rc, out = agent.run()
    assert rc != 0
    assert "agent.crt: the certificate does not name system:atoll:agent:ap" in out, out
    assert "--token" in out
