"""The chart's workloads as local processes: commands, arguments, environment and probes taken from the
rendered manifests, translated only where a pod and a process differ.

A pod has its own address, so its container ports become free loopback ports; a mounted Secret becomes a
directory holding the same file names; an emptyDir becomes a temporary directory. Nothing else changes:
the process gets exactly the environment the manifest gives the container.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

TRUSTLINE = Path(sys.executable).parent / "trustline"
LOOPBACK = "127.0.0.1"


@dataclass
class PodTemplate:
    """One container of a rendered workload (the main one, or its init container)."""

    workload: str
    container: dict[str, Any]
    pod: dict[str, Any]

    @property
    def argv(self) -> list[str]:
        """The container's command and arguments, `trustline` resolved to this virtualenv's script."""
        command = [str(TRUSTLINE) if c == "trustline" else c for c in self.container["command"]]
        return command + [str(a) for a in self.container.get("args", [])]

    def probe(self, kind: str) -> tuple[str, int] | None:
        """(path, container port) of a probe, from its named port."""
        probe = self.container.get(kind)
        if probe is None:
            return None
        ports = {p["name"]: p["containerPort"] for p in self.container.get("ports", [])}
        port = probe["httpGet"]["port"]
        return probe["httpGet"]["path"], ports.get(port, port)


def containers(objects: list[dict[str, Any]], kind: str, name: str) -> tuple[PodTemplate, list[PodTemplate]]:
    """The main container of a workload and its init containers."""
    obj = next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
    pod = obj["spec"]["template"]["spec"]
    main = PodTemplate(name, pod["containers"][0], pod)
    return main, [PodTemplate(name, c, pod) for c in pod.get("initContainers", [])]


def local_env(
    template: PodTemplate, *, secrets: dict[str, dict[str, str]], root: Path
) -> tuple[dict[str, str], dict[int, int]]:
    """The container's environment for a local process, and its container ports mapped to free ones.

    `secrets`: Secret name -> key -> content, written where the pod would see each mounted item.
    """
    paths: dict[str, Path] = {}
    volumes = {v["name"]: v for v in template.pod["volumes"]}
    for mount in template.container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        local = root / mount["name"]
        local.mkdir(parents=True, exist_ok=True)
        if "secret" in volume:
            for item in volume["secret"]["items"]:
                (local / item["path"]).write_text(secrets[volume["secret"]["secretName"]][item["key"]])
        paths[mount["mountPath"]] = local
    ports = {p["containerPort"]: free_port() for p in template.container.get("ports", [])}
    env: dict[str, str] = {}
    for var in template.container["env"]:
        assert "valueFrom" not in var, var  # every secret arrives as a file
        value = str(var["value"])
        for mounted, local in sorted(paths.items(), key=lambda kv: -len(kv[0])):
            if value == mounted or value.startswith(mounted + "/"):
                value = str(local) + value[len(mounted) :]
                break
        if var["name"].endswith("_PORT") and value.isdigit() and int(value) in ports:
            value = str(ports[int(value)])
        if var["name"].endswith("_HOST") and value == "0.0.0.0":
            value = LOOPBACK  # a pod's own address; here, loopback only
        env[var["name"]] = value
    return env, ports


@dataclass
class Process:
    """A workload replica running as a local process."""

    name: str
    template: PodTemplate
    env: dict[str, str]
    ports: dict[int, int]
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the container's command with its environment (and nothing of the developer's)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.template.argv, env={**base, **self.env}, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip

    def url(self, kind: str) -> str:
        """The probe's URL on this process's port."""
        found = self.template.probe(kind)
        assert found is not None, (self.name, kind)
        path, port = found
        return f"http://{LOOPBACK}:{self.ports[port]}{path}"

    def answers(self, kind: str) -> int | None:
        """The probe's status code, or None when nothing answers."""
        try:
            return httpx.get(self.url(kind), timeout=2).status_code
        except httpx.HTTPError:
            return None

    def kill(self) -> None:
        """SIGKILL: no drain, no commit, no lock release but the connection's."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM, as the kubelet sends it, then SIGKILL after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None


def run_to_completion(
    template: PodTemplate, env: dict[str, str], *, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """A Job's or an init container's command, waited for."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    return subprocess.run(template.argv, env={**base, **env}, capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip


def wait_for(condition: Any, *, seconds: float, what: str, every: float = 0.25) -> None:
    """Poll `condition()` until truthy; fail naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds}s")
