#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (a handful of small, valid inputs each).

Seeds are committed; run this only to regenerate them (python3, and openssl for the TLS seeds):
    fuzz/tools/make_corpus.py
Each chunked target's seed starts with its two control bytes (flags, number of cut sizes), see
fuzz/fuzz_support.h; the FuzzedDataProvider targets take strings ended by a backslash followed by
another byte, integers from the end of the input.
"""

import json
import os
import shutil
import ssl
import struct
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "corpus"


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def chunked(data, flags=0, cuts=()):
    """Control bytes for the chunked targets: flags, count of cut sizes, the sizes (v -> v+1)."""
    if isinstance(data, str):
        data = data.encode()
    return bytes([flags, len(cuts)]) + bytes(c - 1 for c in cuts) + data


def fdp_strings(*strings):
    """Strings as FuzzedDataProvider::ConsumeRandomLengthString reads them."""
    out = b""
    for s in strings:
        if isinstance(s, str):
            s = s.encode()
        out += s.replace(b"\\", b"\\\\") + b"\\\x00"
    return out


# --- Proxmox replies (shapes from /work/shared/PROTOCOL.md) ---------------------------------------

TICKET = "PVE:root@pam:6745ABCD::c2lnbmF0dXJlK3dpdGgvc2xhc2hlcz0="
VNC_TICKET = "Ab3dEf7h:PVEVNC:6745ABCD::c2lnbmF0dXJl"
UPID = "UPID:pve1:0000ABCD:0001E240:6745ABCD:qmstart:100:root@pam:"

REPLIES = {
    "login": {"data": {"username": "root@pam", "ticket": TICKET,
                       "CSRFPreventionToken": "6745ABCD:Y3NyZg", "cap": {"vms": {"VM.Console": 1}},
                       "clustername": "lab"}},
    "login_tfa": {"data": {"username": "totp@pve", "NeedTFA": 1,
                           "ticket": "PVE:!tfa!%7B%22totp%22%3Atrue%7D:6745ABCD::c2ln"}},
    "resources": {"data": [
        {"id": "qemu/100", "vmid": 100, "type": "qemu", "node": "pve1", "status": "running",
         "name": "web01", "tags": "prod;web", "pool": "web", "hastate": "started"},
        {"id": "lxc/200", "vmid": "200", "type": "lxc", "node": "pve2", "status": "stopped"},
        {"id": "qemu/9000", "vmid": 9000, "type": "qemu", "node": "pve1", "status": "stopped",
         "template": 1, "name": "debian-12"},
        {"id": "qemu/101", "vmid": 101, "type": "qemu", "node": "pve2", "status": "running",
         "name": "db", "lock": "backup"},
        {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online"},
        {"id": "storage/pve1/local", "type": "storage", "node": "pve1"}]},
    "status_running": {"data": {"status": "running", "qmpstatus": "running", "name": "web01",
                                "vmid": 100, "uptime": 12345}},
    "status_paused": {"data": {"status": "running", "qmpstatus": "paused", "name": "web01",
                               "lock": "suspended"}},
    "upid": {"data": UPID},
    "task_running": {"data": {"status": "running", "upid": UPID, "type": "qmstart"}},
    "task_ok": {"data": {"status": "stopped", "exitstatus": "OK", "upid": UPID}},
    "task_warnings": {"data": {"status": "stopped", "exitstatus": "WARNINGS: 2"}},
    "task_failed": {"data": {"status": "stopped", "exitstatus": "start failed: QEMU exited with code 1"}},
    "vncproxy_qemu": {"data": {"port": "5901", "ticket": VNC_TICKET, "password": "Ab3dEf7h",
                               "user": "root@pam", "upid": UPID,
                               "cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}},
    "vncproxy_lxc": {"data": {"port": 5900, "ticket": "PVEVNC:6745ABCD::c2ln", "user": "root@pam",
                              "upid": UPID}},
    "version": {"data": {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}},
    "null": {"data": None},
    "errors": {"data": None, "errors": {"vmid": "value does not look like a valid VM ID"}},
}

# --- HTTP ------------------------------------------------------------------------------------------

def body_response(status, reason, body, extra=""):
    return (f"HTTP/1.1 {status} {reason}\r\nServer: pve-api-daemon/3.0\r\n"
            f"Content-Type: application/json;charset=UTF-8\r\n{extra}"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}")


def chunk_body(body, sizes):
    out, pos = "", 0
    for n in sizes:
        out += f"{n:x}\r\n{body[pos:pos + n]}\r\n"
        pos += n
    return out + f"{len(body) - pos:x}\r\n{body[pos:]}\r\n0\r\n\r\n" if pos < len(body) else out + "0\r\n\r\n"


def http_seeds():
    vnc = json.dumps(REPLIES["vncproxy_qemu"])
    res = json.dumps(REPLIES["resources"])
    t = "fuzz_http_response"
    write(t, "vncproxy_200", chunked(body_response(200, "OK", vnc)))
    write(t, "vncproxy_200_cut", chunked(body_response(200, "OK", vnc), cuts=(1, 7, 30)))
    write(t, "resources_chunked", chunked(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: max-age=0\r\n\r\n" +
        chunk_body(res, [100, 37]) [:-2] + "Expires: now\r\n\r\n", cuts=(5, 64)))
    write(t, "auth_401", chunked(
        "HTTP/1.1 401 authentication failure\r\nContent-Length: 13\r\n\r\n{\"data\":null}"))
    write(t, "not_running_500", chunked(body_response(500, "VM 101 not running", '{"data":null}')))
    write(t, "upgrade_101", chunked(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
        "\x82\x0cRFB 003.008\n"))
    write(t, "http10_until_close", chunked(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the connection closes"))
    write(t, "continue_then_200", chunked(
        "HTTP/1.1 100 Continue\r\n\r\n" + body_response(200, "OK", json.dumps(REPLIES["upid"]))))
    write(t, "head_response", chunked(
        "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", flags=2))
    write(t, "pipelined_keepalive", chunked(
        body_response(200, "OK", json.dumps(REPLIES["version"]), "Connection: Keep-Alive\r\n") +
        "HTTP/1.1 204 No Content\r\n\r\n" +
        body_response(200, "OK", json.dumps(REPLIES["task_ok"]), "Connection: close\r\n") +
        "trailing", cuts=(3,)))
    write(t, "small_limits", chunked(body_response(200, "OK", json.dumps(REPLIES["login"])), flags=1))

    t = "fuzz_http_request"
    write(t, "ws_upgrade", chunked(
        "GET /api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5901&vncticket=Ab3dEf7h%3APVEVNC%3A6745ABCD%3A%3Ac2ln HTTP/1.1\r\n"
        "Host: pve1.example.com:8006\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: binary\r\nCookie: PVEAuthCookie=PVE%3Aroot%40pam%3A6745ABCD%3A%3Ac2ln\r\n"
        "\r\n\x82\x85\x01\x02\x03\x04ABCDE"))
    form = "username=root%40pam&password=secret&realm=pam"
    write(t, "login_post", chunked(
        "POST /api2/json/access/ticket HTTP/1.1\r\nHost: pve1:8006\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n{form}", cuts=(9, 2)))
    write(t, "vncproxy_post_token", chunked(
        "POST /api2/json/nodes/pve1/qemu/100/vncproxy HTTP/1.1\r\nHost: pve1:8006\r\n"
        "Authorization: PVEAPIToken=root@pam!pvebridge=3f1c7e2a-0000-4000-8000-9b8d00000000\r\n"
        "Content-Length: 31\r\n\r\nwebsocket=1&generate-password=1"))
    write(t, "chunked_post", chunked(
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunk_body("websocket=1&generate-password=1", [5, 10]), cuts=(2,)))
    write(t, "pipelined_gets", chunked(
        "GET /api2/json/version HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /api2/json/cluster/resources?type=vm HTTP/1.1\r\nHost: a\r\nCSRFPreventionToken: x\r\n\r\n"
        "GET /api2/json/nodes/pve1/tasks/UPID%3Apve1%3A0000ABCD/status HTTP/1.0\r\n\r\n"))
    write(t, "small_limits", chunked(
        "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\n", flags=1))

    t = "fuzz_url"
    write(t, "ticket", "PVE:root@pam:6745ABCD::c2lnbmF0dXJlK3dpdGgvc2xhc2hlcz0=")
    write(t, "encoded_ticket", "PVE%3Aroot%40pam%3A6745ABCD%3A%3Ac2lnbmF0dXJlK3dpdGgvc2xhc2hlcz0%3D")
    write(t, "login_form", "username=root%40pam&password=p%C3%A4ss+word%21&realm=pam&otp=123456")
    write(t, "vncwebsocket_target",
          "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5901&vncticket=Ab3dEf7h%3APVEVNC%3A6745ABCD%3A%3Ac2ln")
    write(t, "odd_form", "a=1&&b=&=c&d&e=%41%42%43&f=%zz")
    write(t, "fields", fdp_strings("username", "root@pam", "tfa-challenge", "PVE:!tfa!{\"totp\":true}",
                                   "", "", "password", "totp:123456"))


# --- WebSocket -------------------------------------------------------------------------------------

def frame(opcode, payload=b"", fin=True, mask=None, rsv=0, long_len=False):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126 and not long_len:
        head = bytes([b0, mbit | n])
    elif n <= 0xFFFF and not long_len:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += bytes(mask)
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload


def ws_seeds():
    # Decoder role: client (server frames, unmasked) or server (client frames, masked). The
    # differential target takes both, the server role with flag bit 2.
    for role, targets, mask, role_flag in (
            ("client", ("fuzz_ws_client_decode",), None, 0),
            ("server", ("fuzz_ws_server_decode",), (0x37, 0xfa, 0x21, 0x3d), 4)):
        for target in targets + ("fuzz_ws_differential",):
            flag = role_flag if target == "fuzz_ws_differential" else 0
            p = role + "_" if target == "fuzz_ws_differential" else ""
            write(target, p + "rfb_handshake", chunked(
                frame(2, "RFB 003.008\n", mask=mask) + frame(2, b"\x01\x02", mask=mask), flags=flag))
            write(target, p + "ping_pong_close", chunked(
                frame(9, "keepalive", mask=mask) + frame(10, "", mask=mask) +
                frame(8, struct.pack(">H", 1000) + b"bye", mask=mask) + b"ignored after close",
                flags=flag, cuts=(1, 3)))
            write(target, p + "fragmented_text", chunked(
                frame(1, "Hel", fin=False, mask=mask) + frame(9, "p", mask=mask) +
                frame(0, "lo \xe2\x82\xac", fin=False, mask=mask) + frame(0, "!", mask=mask),
                flags=flag, cuts=(2, 5)))
            write(target, p + "len16", chunked(frame(2, bytes(range(256)) * 2, mask=mask), flags=flag,
                                               cuts=(100,)))
            write(target, p + "len64_small_limit", chunked(
                frame(2, b"x" * 300, mask=mask, long_len=True), flags=flag | 1))
            write(target, p + "close_no_status", chunked(frame(8, "", mask=mask), flags=flag | 2))

    t = "fuzz_ws_roundtrip"
    write(t, "small", bytes(range(8)) + b"\x01" + b"\x00" + fdp_strings("RFB 003.008\n") + b"\x05\x01")
    write(t, "mixed", bytes([0x11] * 8) + b"\x00\x03" + fdp_strings("ping", "x" * 40, "bye") + b"\x06\x07\x08\x02")
    write(t, "big", bytes([0x42] * 8) + b"\x01\x06" + fdp_strings(bytes(range(256)) * 3) + b"\x60\x01\x00")

    t = "fuzz_ws_handshake"
    write(t, "answer_101", b"\x12" + (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: binary\r\n\r\n").encode())
    write(t, "answer_401", b"\x00" + b"HTTP/1.1 401 authentication failure\r\nContent-Length: 0\r\n\r\n")
    write(t, "request", b"\x01" + (
        "GET /api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=x HTTP/1.1\r\n"
        "Host: pve1:8006\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: binary, base64\r\n\r\n").encode())
    write(t, "build", b"\x02" + fdp_strings(
        "pve1.example.com:8006", "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=PVEVNC%3Aabc",
        "binary", "Cookie", "PVEAuthCookie=PVE%3Aroot%40pam%3A6745ABCD%3A%3Ac2ln") + bytes(8) + b"\x01")


# --- Proxmox, guests, CLI, .vv -----------------------------------------------------------------------

def engine_seeds():
    for name, reply in REPLIES.items():
        write("fuzz_proxmox_replies", name, json.dumps(reply))

    for i, spec in enumerate(["100", "web01", "pve1/100", "db", "ünïcødé 数据库", "999999999",
                              "0100", "pve2/9001", "with space", "tmpl-only", "pve-node.example/999999999"]):
        write("fuzz_guest_spec", f"spec{i}", spec)

    cli = {
        "connect_user": [0, "connect", "web01", "--host", "pve1.example.com", "--user", "root@pam"],
        "connect_env": [1, "connect", "pve1/100", "--fingerprint=AA:BB", "--title", "My VM",
                        "--fullscreen", "--kiosk", "--vv-stdin", "--listen", "[::1]:5900"],
        "connect_token": [0, "connect", "100", "--host=[2001:db8::1]:8006,pve2",
                          "--api-token=root@pam!pvebridge=3f1c7e2a-0000-4000-8000-9b8d00000000",
                          "--insecure", "--timeout", "30", "--keepalive=0", "--no-viewer", "--json"],
        "list_env_token": [2, "list", "--json", "-v"],
        "help": [0, "help", "connect"],
        "version": [0, "--version"],
        "viewer": [1, "connect", "db", "--viewer", "/usr/bin/remote-viewer", "--viewer-arg=--debug",
                   "--vv-file", "/tmp/x.vv", "--otp", "123456", "--start", "--", "-odd-name"],
        "password_refused": [1, "connect", "web01", "--password=hunter2"],
    }
    for name, (env, *args) in cli.items():
        write("fuzz_cli_options", name, bytes([env]) + "\0".join(args).encode())

    vv = fdp_strings("127.0.0.1", "Ab3dEf7h", "web01 (100) - pvebridge", "shift+f11", "shift+f12",
                     "ctrl+alt+end")
    write("fuzz_vv_file", "typical", vv + b"\x01\x01\xa0\xf1")
    write("fuzz_vv_file", "escapes", fdp_strings("::1", " lead\\back", "tab\there\nnewline ü 数据库\r",
                                                 "", "", "") + b"\x00\x01\x00\x17")


# --- TLS: real handshake messages from Python's ssl (OpenSSL) ----------------------------------------

def handshake_flights(cert, key, tls13):
    """Runs a Python (OpenSSL) client against a Python server in memory; returns each side's
    flights."""
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    sctx.set_ecdh_curve("prime256v1")
    if not tls13:
        cctx.maximum_version = ssl.TLSVersion.TLSv1_2
        cctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305")
        sctx.maximum_version = ssl.TLSVersion.TLSv1_2
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = cctx.wrap_bio(c_in, c_out, server_hostname="pve1.example.com")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    flights = {"client": [], "server": []}
    for _ in range(6):
        for who, obj, out, peer_in in (("client", client, c_out, s_in), ("server", server, s_out, c_in)):
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            data = out.read()
            if data:
                flights[who].append(data)
                peer_in.write(data)
    return flights["client"], flights["server"]


def tls_seeds():
    tmp = Path(tempfile.mkdtemp())
    try:
        key, cert = tmp / "key.pem", tmp / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "30", "-subj", "/CN=pve1.example.com",
                        "-addext", "subjectAltName=DNS:pve1.example.com,IP:192.0.2.10"],
                       check=True, capture_output=True)
        # Flag bit 3 selects the OpenSSL backend, which also speaks TLS 1.3.
        for version, tls13, backends in (("12", False, (0, 8)), ("13", True, (8,))):
            client_flights, server_flights = handshake_flights(cert, key, tls13)
            for backend in backends:
                p = f"tls{version}_{'openssl' if backend else 'mbedtls'}_"
                t = "fuzz_tls_server_input"
                write(t, p + "client_hello", chunked(client_flights[0], flags=backend))
                write(t, p + "client_hello_eof", chunked(client_flights[0], flags=backend | 2,
                                                         cuts=(5, 50)))
                if len(client_flights) > 1:
                    write(t, p + "client_full_flight", chunked(
                        client_flights[0] + client_flights[1], flags=backend, cuts=(200,)))
                t = "fuzz_tls_client_input"
                write(t, p + "server_flight", chunked(server_flights[0], flags=backend))
                write(t, p + "server_flight_eof", chunked(server_flights[0], flags=backend | 2,
                                                          cuts=(5, 100)))
                write(t, p + "server_flight_insecure", chunked(server_flights[0], flags=backend | 4))
                if len(server_flights) > 1:
                    write(t, p + "server_all", chunked(b"".join(server_flights), flags=backend,
                                                       cuts=(256,)))
    finally:
        shutil.rmtree(tmp)

    # After a real handshake (flag bit 0): records injected into an established connection.
    for t in ("fuzz_tls_server_input", "fuzz_tls_client_input"):
        for backend in (0, 8):
            p = "openssl_" if backend else "mbedtls_"
            write(t, p + "post_appdata", chunked(b"\x17\x03\x03\x00\x20" + bytes(range(32)),
                                                 flags=backend | 1))
            write(t, p + "post_alert", chunked(b"\x15\x03\x03\x00\x02\x01\x00", flags=backend | 3))
            write(t, p + "post_handshake_record", chunked(b"\x16\x03\x03\x00\x04\x00\x00\x00\x00",
                                                          flags=backend | 1))
            write(t, p + "post_garbage_eof", chunked(b"SSH-2.0-OpenSSH_9.2\r\n", flags=backend | 3,
                                                     cuts=(4,)))


def known_hosts_seeds():
    """fuzz_known_hosts: known_hosts texts (the last 4 bytes also steer a set())."""
    import base64
    import hashlib

    def fp(raw):
        return ":".join("%02X" % b for b in raw)

    ca = bytes.fromhex("3082010a0282010100") + b"not really a certificate"
    ca_line = "[fd00::10]:8006 ca %s %s" % (fp(hashlib.sha256(ca).digest()),
                                            base64.b64encode(ca).decode())
    pin = "pve1.example.com:8006 sha256 " + fp(bytes(range(32)))
    header = ("# pvebridge known_hosts: Proxmox servers trusted on first use.\n"
              "# One line per server.\n")
    write("fuzz_known_hosts", "pin_and_ca", header + pin + "\n" + ca_line + "\n")
    write("fuzz_known_hosts", "crlf_tabs_case", "PVE2:8006\tSHA256  " + fp(bytes(32)) + "\r\n\n")
    write("fuzz_known_hosts", "damaged",
          "pve1:8006 sha256 AA:BB\npve1:8006 md5 x\n[pve1]:8006 sha256 x\n" + pin + "\n")
    write("fuzz_known_hosts", "ca_fingerprint_mismatch",
          "192.0.2.10:8006 ca " + fp(bytes(32)) + " " + base64.b64encode(ca).decode() + "\n")
    write("fuzz_known_hosts", "duplicates", pin + "\n# between\n" + pin + "\n" + ca_line)


if __name__ == "__main__":
    known_hosts_seeds()
    http_seeds()
    ws_seeds()
    engine_seeds()
    tls_seeds()
    for d in sorted(ROOT.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")
