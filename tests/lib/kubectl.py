"""A recording fake `kubectl`: a small Python script written into a directory,
answering as kubectl does for the calls the node handler makes, and writing
each argv (one JSON list per line) to ``calls``.

Its node is kept in ``node.json`` beside it: whether it is unschedulable, its
annotations, and how many more drains a PodDisruptionBudget refuses (with
kubectl drain's words and exit code 1).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List

SCRIPT = r'''
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "calls"), "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
path = os.path.join(here, "node.json")
with open(path) as f:
    node = json.load(f)
args = sys.argv[1:]
def save():
    with open(path + ".tmp", "w") as f:
        json.dump(node, f)
    os.replace(path + ".tmp", path)
def missing(name):
    sys.stderr.write('Error from server (NotFound): nodes "%s" not found\n' % name)
    sys.exit(1)
verb = args[0] if args else ""
if verb == "get" and args[1:2] == ["node"] and args[3:] == ["-o", "json"]:
    if args[2] != node["name"]:
        missing(args[2])
    spec = {"unschedulable": True} if node["unschedulable"] else {}
    print(json.dumps({"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": node["name"], "annotations": node["annotations"]}, "spec": spec}))
elif verb in ("cordon", "uncordon"):
    if args[1] != node["name"]:
        missing(args[1])
    want = verb == "cordon"
    print("node/%s %s%s" % (node["name"], "already " if node["unschedulable"] == want else "",
                            verb + "ed"))
    node["unschedulable"] = want
    save()
elif verb == "annotate" and args[1] == "node":
    if args[2] != node["name"]:
        missing(args[2])
    for pair in args[3:]:
        if not pair.startswith("--"):
            key, value = pair.split("=", 1)
            node["annotations"][key] = value
    save()
    print("node/%s annotated" % node["name"])
elif verb == "drain":
    if args[1] != node["name"]:
        missing(args[1])
    node["unschedulable"] = True
    print("node/%s cordoned" % node["name"])
    print("evicting pod default/web-0")
    if node["refusals"] > 0:
        node["refusals"] -= 1
        save()
        sys.stderr.write('error when evicting pods/"web-0" -n "default" (will retry after 5s): '
                         "Cannot evict pod as it would violate the pod's disruption budget.\n")
        sys.stderr.write('error: unable to drain node "%s" due to error: [error when evicting '
                         'pods/"web-0" -n "default": global timeout reached: 20s], continuing command...\n'
                         % node["name"])
        sys.exit(1)
    save()
    print("pod/web-0 evicted")
    print("node/%s drained" % node["name"])
else:
    sys.stderr.write("error: unknown command %r for the fake kubectl\n" % " ".join(args))
    sys.exit(1)
'''


class FakeKubectl:
    """The fake in ``directory`` (``path``: the script, named kubectl), for node ``name``."""

    def __init__(self, directory: Path, name: str = "node1", *, unschedulable: bool = False,
                 refusals: int = 0):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.name = directory, name
        self.path = directory / "kubectl"
        self.path.write_text(f"#!{sys.executable}\n{SCRIPT}")
        self.path.chmod(0o755)
        self.node_file = directory / "node.json"
        self.node_file.write_text(json.dumps({"name": name, "unschedulable": unschedulable,
                                              "annotations": {}, "refusals": refusals}))

    def calls(self) -> List[List[str]]:
        calls = self.directory / "calls"
        return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []

    def verbs(self) -> List[str]:
        return [c[0] for c in self.calls()]

    def node(self) -> dict:
        return json.loads(self.node_file.read_text())

    def on_path(self, monkeypatch) -> None:
        monkeypatch.setenv("PATH", f"{self.directory}{os.pathsep}{os.environ['PATH']}")
