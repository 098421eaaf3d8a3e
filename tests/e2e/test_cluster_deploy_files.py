"""docker-compose.cluster.yml and deploy/cluster/, checked without Docker or a ClickHouse server (none runs here).

What is checked for real: the YAML and the ClickHouse XML parse; every file a service mounts
exists; the services, volumes and dependencies it names exist; the cluster the servers define
(2 shards x 2 replicas, each server's macros naming its own shard and a cluster-unique replica,
Keeper where the servers look for it) is the one the collectors are started with; the load
balancers send to services and ports that exist; the collector command line is one the CLI
accepts, and a real ``tracereel serve`` started with it reaches for the server store.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_deploy_files import _check_command, _interpolate
from tests.support import claim_port, clean_env

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.cluster.yml"
SERVERS = ("ch-s1-r1", "ch-s1-r2", "ch-s2-r1", "ch-s2-r2")
_ENV = {"CLICKHOUSE_PASSWORD": "pw-for-the-test", "CLICKHOUSE_CLUSTER_SECRET": "s3cret"}

pytestmark = pytest.mark.e2e


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Bind-mounted files of a service: container path -> file in the repository."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = source
    return found


def _xml(path: str) -> ET.Element:
    return ET.parse(ROOT / path).getroot()


def _cluster_flag(service: dict[str, Any]) -> str:
    command = service["command"]
    return command[command.index("--cluster") + 1]


def test_every_service_is_in_the_cluster_profile_and_every_reference_resolves():
    compose = _compose()
    services = compose["services"]
    assert set(SERVERS) | {"keeper", "clickhouse-lb", "collector-1", "collector-2", "lb", "dashboard"} == set(services)
    for name, service in services.items():
        assert service["profiles"] == ["cluster"], name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on {dependency}, which is not a service"
        for source in _mounts(service).values():
            assert (ROOT / source).is_file(), f"{name} mounts {source}, which does not exist"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("./"):
                assert source in compose["volumes"], f"{name} uses the undeclared volume {source}"
    # Published ports bind 127.0.0.1 unless TRACEREEL_BIND says otherwise; only lb and dashboard publish.
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert set(published) == {"lb", "dashboard"}
    for ports in published.values():
        assert all(_interpolate(p, {}).startswith("127.0.0.1:") for p in ports)


def test_the_servers_form_two_shards_of_two_replicas_with_their_own_macros():
    services = _compose()["services"]
    seen = set()
    names = set()
    for name in SERVERS:
        mounts = _mounts(services[name])
        cluster = _xml(mounts["/etc/clickhouse-server/config.d/cluster.xml"])
        macros = _xml(mounts["/etc/clickhouse-server/config.d/macros.xml"]).find("macros")
        assert macros is not None
        shard, replica = macros.findtext("shard"), macros.findtext("replica")
        assert replica == services[name]["hostname"] == name  # unique across the cluster
        remote_servers = cluster.find("remote_servers")
        assert remote_servers is not None
        (definition,) = list(remote_servers)
        shards = definition.findall("shard")
        assert [len(s.findall("replica")) for s in shards] == [2, 2]
        assert all(s.findtext("internal_replication") == "true" for s in shards)
        # The server is a replica of the shard its macros name.
        hosts = [[r.findtext("host") for r in s.findall("replica")] for s in shards]
        assert name in hosts[int(shard or "0") - 1]
        assert definition.find("secret").get("from_env") in services[name]["environment"]  # type: ignore[union-attr]
        seen.add((shard, replica))
        names.add(definition.tag)
    assert len(seen) == 4
    # Every collector lays the schema out on the cluster the servers define.
    assert {_cluster_flag(services[c]) for c in ("collector-1", "collector-2")} == names


def test_keeper_is_where_the_servers_look_for_it():
    services = _compose()["services"]
    keeper = _xml(_mounts(services["keeper"])["/etc/clickhouse-keeper/keeper_config.xml"]).find("keeper_server")
    assert keeper is not None
    cluster = _xml("deploy/cluster/cluster.xml")
    nodes = [(n.findtext("host"), n.findtext("port")) for n in cluster.iterfind("zookeeper/node")]
    assert nodes == [("keeper", keeper.findtext("tcp_port"))]
    assert keeper.findtext("raft_configuration/server/hostname") == "keeper"
    assert keeper.findtext("tcp_port") in " ".join(services["keeper"]["healthcheck"]["test"])
    for name in SERVERS:
        assert services[name]["depends_on"]["keeper"]["condition"] == "service_healthy"


@pytest.mark.parametrize(("balancer", "port"), [("lb", "4318"), ("clickhouse-lb", "8123")])
def test_the_load_balancers_send_to_services_that_listen_there(balancer: str, port: str):
    services = _compose()["services"]
    (config,) = _mounts(services[balancer]).values()
    text = (ROOT / config).read_text()
    upstreams = re.findall(r"^\s*server ([\w-]+):(\d+);", text, re.MULTILINE)
    assert upstreams and f"listen {port};" in text
    for host, upstream_port in upstreams:
        assert host in services and host in services[balancer]["depends_on"]
        if host.startswith("collector"):
            assert upstream_port == services[host]["command"][services[host]["command"].index("--port") + 1]
        else:
            assert upstream_port == "8123"


def test_the_collectors_reach_the_cluster_through_its_balancer_and_start_one_after_the_other():
    from tracereel.collector.settings import CollectorSettings

    services = _compose()["services"]
    for name in ("collector-1", "collector-2"):
        collector = services[name]
        _check_command(collector["command"])
        store = _interpolate(collector["environment"]["TRACEREEL_STORE"], _ENV)
        assert store == "http://tracereel:pw-for-the-test@clickhouse-lb:8123/tracereel"
        for variable in collector["environment"]:
            assert variable.removeprefix("TRACEREEL_").lower() in CollectorSettings.model_fields, variable
        assert CollectorSettings(store=store, cluster=_cluster_flag(collector)).cluster == "tracereel"
    # The first creates the schema alone; the second finds it recorded.
    assert services["collector-2"]["depends_on"] == {"collector-1": {"condition": "service_healthy"}}
    _check_command(services["dashboard"]["command"])


def test_the_collector_command_runs_and_reaches_for_the_cluster_store(unused_port: int):
    collector = _compose()["services"]["collector-1"]
    argv = list(collector["command"])
    argv[argv.index("--port") + 1] = str(claim_port())
    store = _interpolate(collector["environment"]["TRACEREEL_STORE"], _ENV)
    env = clean_env(TRACEREEL_STORE=store.replace("@clickhouse-lb:8123", f"@127.0.0.1:{unused_port}"))
    done = subprocess.run(
        [sys.executable, "-m", "tracereel", *argv[1:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2  # cannot run (tracereel/cli/_errors.py)
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"Error: cannot open the store http://tracereel:***@127.0.0.1:{unused_port}/tracereel")
    )
    assert "Traceback" not in done.stderr and _ENV["CLICKHOUSE_PASSWORD"] not in done.stdout + done.stderr
