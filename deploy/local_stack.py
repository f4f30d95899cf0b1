"""Start the production layout of deploy/ on this machine and check it serves.

    .venv/bin/python deploy/local_stack.py --database-url postgres://postgres@127.0.0.1:5432/cem_stack --migrate

nginx (the site file of deploy/nginx/cem.conf, on a free port) in front of
gunicorn on a unix socket, two Celery workers (between them every queue) on
RabbitMQ, two MQTT bridges sharing one subscription group, and a Mosquitto
with the platform's own password and ACL files (deploy/mosquitto/cem.conf).
Production settings (DEBUG off, a random SECRET_KEY; no TLS here, so no
HTTPS redirect). It fetches the health check, the login page and a static
file through nginx, publishes a message as the bridge user and waits for a
bridge to take it, prints one JSON line and stops everything. Exit code 0
when all of that worked. Used by tests/scale/test_deploy_layout.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BIN = Path(PY).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Stack:
    def __init__(self, database_url: str, broker_url: str, workdir: Path):
        self.dir = workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.mqtt_port = free_port()
        self.http_port = free_port()
        self.bridge_password = secrets.token_urlsafe(16)
        self.env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "MQTT_URL": f"mqtt://cem-bridge:{self.bridge_password}@127.0.0.1:{self.mqtt_port}",
            "MQTT_BRIDGE_SHARE_GROUP": "cem",
            "MOSQUITTO_PASSWORD_FILE": str(workdir / "mosquitto" / "passwd"),
            "MOSQUITTO_ACL_FILE": str(workdir / "mosquitto" / "acl"),
            "MOSQUITTO_PID_FILE": str(workdir / "mosquitto" / "mosquitto.pid"),
            # its own static root: never rewrite the files a running test server reads
            "STATIC_ROOT": str(workdir / "static"),
        }

    def run(self, *args, timeout=600):
        r = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if r.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
        return r.stdout

    def start(self, name: str, cmd: list[str], cwd=ROOT):
        log = open(self.dir / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text()

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    # -- parts ---------------------------------------------------------------
    def mosquitto(self):
        mdir = self.dir / "mosquitto"
        mdir.mkdir()
        self.run("mosquitto_sync")  # the platform's own password and ACL files
        conf = (ROOT / "deploy" / "mosquitto" / "cem.conf").read_text()
        # this machine: one plain listener on a free port, files in the work dir, no disk persistence
        conf = re.sub(r"(?ms)^listener 1883.*?^keyfile.*?$", f"listener {self.mqtt_port} 127.0.0.1", conf)
        conf = conf.replace("/etc/mosquitto/cem/passwd", str(mdir / "passwd"))
        conf = conf.replace("/etc/mosquitto/cem/acl", str(mdir / "acl"))
        conf = conf.replace("/run/mosquitto/mosquitto.pid", str(mdir / "mosquitto.pid"))
        conf = re.sub(r"(?m)^persistence true$", "persistence false", conf)
        conf = re.sub(r"(?m)^(persistence_location|autosave_interval).*$", "", conf)
        if os.geteuid() == 0:
            conf += "\nuser root\n"
        (mdir / "mosquitto.conf").write_text(conf)
        self.start("mosquitto", ["/usr/sbin/mosquitto", "-c", str(mdir / "mosquitto.conf")])
        wait_for(lambda: port_open(self.mqtt_port), 10, "mosquitto")

    def web(self):
        self.sock = self.dir / "web.sock"
        self.start(
            "gunicorn",
            [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"unix:{self.sock}", "--workers", "2"]
            + ["--timeout", "60", "--access-logfile", "-", "--forwarded-allow-ips", "127.0.0.1"],
        )
        wait_for(lambda: self.sock.exists() or not self.alive("gunicorn"), 180, "gunicorn")
        if not self.alive("gunicorn"):
            raise RuntimeError(self.log("gunicorn"))

    def nginx(self):
        site = (ROOT / "deploy" / "nginx" / "cem.conf").read_text()
        site = site.replace("unix:/run/cem/web.sock", f"unix:{self.sock}")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.http_port};")
        site = site.replace("server_name energy.example.org;", "server_name 127.0.0.1 localhost;")
        site = site.replace("/srv/cem/static/", self.env["STATIC_ROOT"] + "/")
        ndir = self.dir / "nginx"
        (ndir / "logs").mkdir(parents=True)
        (ndir / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\npid {ndir}/nginx.pid;\nerror_log {ndir}/logs/error.log;\n"
            "events { worker_connections 256; }\n"
            "http {\n  include /etc/nginx/mime.types;\n"
            f"  access_log {ndir}/logs/access.log;\n"
            f"  client_body_temp_path {ndir}/body; proxy_temp_path {ndir}/proxy;\n"
            f"  fastcgi_temp_path {ndir}/fcgi; uwsgi_temp_path {ndir}/uwsgi; scgi_temp_path {ndir}/scgi;\n"
            + "\n".join("  " + line for line in site.splitlines())
            + "\n}\n"
        )
        self.start("nginx", ["/usr/sbin/nginx", "-p", str(ndir), "-c", str(ndir / "nginx.conf"), "-g", "daemon off;"])
        wait_for(lambda: port_open(self.http_port) or not self.alive("nginx"), 10, "nginx")
        if not self.alive("nginx"):
            raise RuntimeError(self.log("nginx"))

    def workers(self):
        for name, queues in (("worker-a", "dispatch,market,settlement"), ("worker-b", "ingest,default")):
            self.start(
                name,
                [str(BIN / "celery"), "-A", "config", "worker", "-Q", queues, "-n", f"{name}@%h", "--concurrency", "1"]
                + ["--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            )
        for name in ("worker-a", "worker-b"):
            wait_for(lambda n=name: "ready." in self.log(n) or not self.alive(n), 300, name)
            if not self.alive(name):
                raise RuntimeError(self.log(name))

    def bridges(self):
        for i in (1, 2):
            self.start(f"bridge-{i}", [PY, "manage.py", "mqtt_bridge", "--client-id", f"cem-bridge-local-{i}"])
        for i in (1, 2):
            n = f"bridge-{i}"
            wait_for(lambda n=n: "connected to" in self.log(n) or not self.alive(n), 300, n)
            if not self.alive(n):
                raise RuntimeError(self.log(n))

    def stop(self):
        for name, p in reversed(list(self.procs.items())):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if name != "nginx" else signal.SIGQUIT)
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def fetch(url: str) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, headers={"Host": "127.0.0.1"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def publish_through_bridge(stack: Stack) -> bool:
    """A status message as the bridge user (it may write cem/#) for a device
    that does not exist: a bridge must take it and keep a rejection."""
    sys.path.insert(0, str(ROOT))
    from assets.mqtt.connection import BrokerUrl, connect, make_client

    broker = BrokerUrl("127.0.0.1", stack.mqtt_port, "cem-bridge", stack.bridge_password, False)
    c = make_client(broker, client_id="local-stack-probe")
    connect(c, broker)
    c.loop_start()
    info = c.publish("cem/local-stack/probe-device/status", b"online", qos=1)
    info.wait_for_publish(10)
    c.disconnect()
    c.loop_stop()
    return info.is_published()


def bridge_stored(database_url: str, timeout: float = 30.0) -> bool:
    """One of the two bridges took the probe and kept it (as a rejection: no such device)."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        while time.monotonic() < deadline:
            n = conn.execute(
                "SELECT count(*) FROM assets_rejectedmessage WHERE topic = %s", ["cem/local-stack/probe-device/status"]
            ).fetchone()[0]
            if n:
                return True
            time.sleep(0.5)
    return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--broker-url", default=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    ap.add_argument("--migrate", action="store_true", help="migrate the database first")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="cem-stack-"))
    stack = Stack(args.database_url, args.broker_url, workdir)
    result: dict = {"workdir": str(workdir)}
    t0 = time.monotonic()
    try:
        if args.migrate:
            stack.run("migrate", "--noinput")
        stack.run("collectstatic", "--noinput", "--verbosity", "0")
        stack.run("check", "--deploy", "--fail-level", "ERROR")
        stack.mosquitto()
        stack.web()
        stack.nginx()
        stack.workers()
        stack.bridges()
        base = f"http://127.0.0.1:{stack.http_port}"
        status, body, _ = fetch(f"{base}/healthz")
        result["healthz"] = status
        status, body, _ = fetch(f"{base}/accounts/login/")
        result["login_page"] = status
        result["login_page_has_form"] = b'name="password"' in body
        css = re.search(rb'href="(/static/[^"]+\.css)"', body)
        if css:
            status, _, headers = fetch(base + css.group(1).decode())
            result["static"] = status
            result["static_cache"] = headers.get("Cache-Control", "")
        result["via_nginx"] = "nginx" in (fetch(f"{base}/healthz")[2].get("Server", ""))
        result["published"] = publish_through_bridge(stack)
        result["bridge_stored"] = bridge_stored(args.database_url)
        result["processes_alive"] = sorted(n for n in stack.procs if stack.alive(n))
        result["seconds"] = round(time.monotonic() - t0, 1)
        ok = (
            result["healthz"] == 200
            and result["login_page"] == 200
            and result["login_page_has_form"]
            and result.get("static", 200) == 200
            and result["via_nginx"]
            and result["published"]
            and result["bridge_stored"]
            and len(result["processes_alive"]) == 7
        )
        result["ok"] = ok
        print(json.dumps(result))
        return 0 if ok else 1
    except Exception as exc:  # noqa: BLE001 - reported with the logs
        result["error"] = str(exc)[-3000:]
        result["ok"] = False
        print(json.dumps(result))
        return 1
    finally:
        stack.stop()
        if not args.keep and result.get("ok"):
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
