#!/usr/bin/python3
"""Debian's python3-consul, unchanged, against basefs's HTTP API.

Run by tests/http_api_test.cc against real daemons; each phase exits 0 when
everything it checks holds and prints what it measured. Waits are bounded
polls with deadlines, never fixed sleeps.

  consul_client.py client A_HTTP B_HTTP C_HTTP A_DNS_PORT C_DNS_PORT
  consul_client.py gone C_HTTP C_DNS_PORT
"""
import http.server
import re
import subprocess
import sys
import threading
import time
import urllib.request

import consul


def wait_for(what, pred, deadline_s=20.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def dig(port, qtype, name):
    out = subprocess.run(["dig", "+short", "+tries=1", "+time=2", "-p", str(port), "@127.0.0.1", qtype, name],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip()


class Health(http.server.BaseHTTPRequestHandler):
    """The service's own health endpoint: 200 until told to fail."""
    failing = False

    def do_GET(self):
        self.send_response(500 if Health.failing else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def client(a_port, b_port, c_port, a_dns, c_dns):
    a = consul.Consul(host="127.0.0.1", port=a_port)
    b = consul.Consul(host="127.0.0.1", port=b_port)
    c = consul.Consul(host="127.0.0.1", port=c_port)

    assert a.agent.self()["Config"]["Datacenter"] == "demo"
    assert a.status.leader(), "a leader address, so clients that ask find one"
    members = {m["Name"]: m["Status"] for m in a.agent.members()}
    assert members == {"n0": 1, "n1": 1, "n2": 1}, members

    # A service with an HTTP check, through node A's API.
    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    health_port = server.server_address[1]
    assert a.agent.service.register("web", service_id="web-a", port=health_port, tags=["v1"],
                                    check=consul.Check.http("http://127.0.0.1:%d/health" % health_port, "1s",
                                                            timeout="1s"))
    assert a.agent.services()["web-a"]["Port"] == health_port

    def passing(agent):
        return [e["Service"]["ID"] for e in agent.health.service("web", passing=True)[1]]

    wait_for("web-a passing on node A", lambda: passing(a) == ["web-a"])
    assert a.catalog.services()[1].get("web") == ["v1"]
    wait_for("web-a in node A's DNS", lambda: str(health_port) in dig(a_dns, "SRV", "web.service.basefs."))
    # ...and on the other nodes, through replication and gossip.
    wait_for("web-a passing on node C", lambda: passing(c) == ["web-a"])
    wait_for("web-a in node C's DNS", lambda: str(health_port) in dig(c_dns, "SRV", "web.service.basefs."))
    checks = {ch["CheckID"]: ch["Status"] for ch in a.health.service("web")[1][0]["Checks"]}
    assert checks == {"serfHealth": "passing", "service:web-a": "passing"}, checks

    # The check fails: out of ?passing and out of DNS, everywhere.
    Health.failing = True
    wait_for("web-a failing on node C", lambda: passing(c) == [])
    wait_for("web-a out of DNS", lambda: dig(a_dns, "SRV", "web.service.basefs.") == "")
    wait_for("web-a out of node C's DNS", lambda: dig(c_dns, "SRV", "web.service.basefs.") == "")
    state = a.health.state("critical")[1]
    assert any(ch["CheckID"] == "service:web-a" for ch in state), state
    Health.failing = False
    wait_for("web-a passing again", lambda: passing(c) == ["web-a"])

    # A blocking query on node B returns when node A changes the answer.
    index, before = b.health.service("web")
    assert [e["Service"]["ID"] for e in before] == ["web-a"]
    result = {}

    def hold():
        result["answer"] = b.health.service("web", index=index, wait="30s")
        result["at"] = time.monotonic()

    def held_on_b():
        url = "http://127.0.0.1:%d/v1/agent/metrics?format=prometheus" % b_port
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        m = re.search(r"^basefs_http_blocking_held (\d+)", text, re.M)
        return m and int(m.group(1)) >= 1

    holder = threading.Thread(target=hold)
    holder.start()
    wait_for("the query held on node B", held_on_b)
    assert holder.is_alive(), "the blocking query returned before anything changed"
    assert a.agent.service.register("web", service_id="web-a2", port=health_port + 1, tags=["v2"])
    written = time.monotonic()
    holder.join(timeout=25)
    assert not holder.is_alive(), "the held query was not answered"
    new_index, after = result["answer"]
    assert int(new_index) > int(index), (index, new_index)
    assert sorted(e["Service"]["ID"] for e in after) == ["web-a", "web-a2"], after
    print("blocking query on B answered %.1f ms after the write on A" % ((result["at"] - written) * 1000))

    # TTL checks: critical until the service reports.
    assert a.agent.service.register("batch", service_id="batch-a", port=9000, check=consul.Check.ttl("10s"))
    assert a.agent.check.ttl_pass("service:batch-a", "ran fine")
    wait_for("batch-a passing", lambda: [e["Service"]["ID"] for e in a.health.service("batch", passing=True)[1]]
             == ["batch-a"])
    assert a.agent.checks()["service:batch-a"]["Output"] == "ran fine"

    # Deregistration (python3-consul sends GET, as Consul before 1.0 took).
    assert a.agent.service.deregister("web-a2")
    wait_for("web-a2 gone from node C", lambda: "web-a2" not in [e["ServiceID"] for e in c.catalog.service("web")[1]])
    assert a.agent.service.deregister("batch-a")

    # KV on the tree: put on A, read and recurse on B once it replicated.
    assert a.kv.put("app/config/db", "host=db1")
    assert a.kv.put("app/config/cache", b"\x00\x01binary")
    wait_for("the keys on node B", lambda: b.kv.get("app/config/cache")[1] is not None)
    assert b.kv.get("app/config/db")[1]["Value"] == b"host=db1"
    keys = [e["Key"] for e in b.kv.get("app/config", recurse=True)[1]]
    assert keys == ["app/config/", "app/config/cache", "app/config/db"], keys
    assert b.kv.get("app/", keys=True, separator="/")[1] == ["app/config/"]
    modify = a.kv.get("app/config/db")[1]["ModifyIndex"]
    assert not a.kv.put("app/config/db", "lost", cas=modify + 1)
    assert a.kv.put("app/config/db", "host=db2", cas=modify)
    assert a.kv.get("nothing/here")[1] is None

    # Node C's key holds a grant on /services only: its KV write is refused.
    try:
        c.kv.put("app/config/db", "from c")
        raise AssertionError("a write without a grant was accepted")
    except consul.ACLPermissionDenied as e:
        assert "grant" in str(e) or "permission" in str(e).lower(), e
    assert a.kv.get("app/config/db")[1]["Value"] == b"host=db2"
    try:
        a.agent.service.register("bad_name", port=80)
        raise AssertionError("a service name that is not a DNS label was accepted")
    except consul.base.BadRequest:
        pass
    print("python3-consul: agent, catalog, health, blocking, TTL, KV and refusals all as Consul's")


def gone(c_port, c_dns):
    c = consul.Consul(host="127.0.0.1", port=c_port)
    wait_for("web-a out of ?passing on node C",
             lambda: [e["Service"]["ID"] for e in c.health.service("web", passing=True)[1]] == [], 60)
    entries = c.health.service("web")[1]
    assert entries and entries[0]["Checks"][0]["Status"] == "critical", entries
    wait_for("web-a out of node C's DNS", lambda: dig(c_dns, "SRV", "web.service.basefs.") == "", 20)
    print("the killed node's instance left ?passing and DNS on node C")


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(*[int(x) for x in sys.argv[2:7]])
    elif sys.argv[1] == "gone":
        gone(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("unknown phase " + sys.argv[1])
