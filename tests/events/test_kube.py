"""The Kubernetes node handler (`events watch --kubernetes-node`): its decisions per
event type, the PodDisruptionBudget retries, the operator's cordon, and the state
across restarts; on a scripted IMDS and a fake clock, with a recording kubectl."""

from __future__ import annotations

import pytest

from imdsctl.events import kube
from tests.lib.events import ID1, ID2, Scripted, doc, event, watcher
from tests.lib.kubectl import FakeKubectl

DRAIN = ["drain", "node1", "--ignore-daemonsets", "--delete-emptydir-data"]


class Log(list):
    def __call__(self, line):
        self.append(line)


@pytest.fixture
def kubectl(tmp_path):
    return FakeKubectl(tmp_path / "bin")


def run(kubectl, state, *documents, drain_on=kube.DRAIN_ON, **options):
    """One watch (a poll per document, as restarts do) with the node handler; its log."""
    log = Log()
    for document in documents:
        client = Scripted(document)
        node = kube.NodeHandler("node1", str(kubectl.path), drain_on, log=log)
        w, fake = watcher(client, "none", state=state, log=log, node=node, once=True,
                          **{"approve": True, **options})
        w.run()
        run.posts, run.sleeps = client.posts, fake.sleeps
    return log


@pytest.mark.parametrize("kind", ["Preempt", "Terminate", "Reboot", "Redeploy"])
def test_an_event_that_drains_cordons_annotates_drains_then_acknowledges(kubectl, state, kind):
    shown = event(kind=kind)
    log = run(kubectl, state, doc(2, shown))
    calls = kubectl.calls()
    assert [c[0] for c in calls] == ["get", "cordon", "annotate", "drain"]
    assert calls[2] == ["annotate", "node", "node1", "--overwrite", f"imdsctl/event-id={ID1}",
                        f"imdsctl/event-type={kind}", f"imdsctl/event-not-before={shown['NotBefore']}"]
    assert calls[3][:4] == DRAIN[:4] and calls[3][:5] == DRAIN + calls[3][4:5]
    assert run.posts == [{"StartRequests": [{"EventId": ID1}]}]
    assert f"drained node node1 for {kind} {ID1}" in log
    node = kubectl.node()
    assert node["unschedulable"] and node["annotations"]["imdsctl/event-type"] == kind
    assert state.records[ID1]["kubeDrain"] == "drained" and state.records[ID1]["kubeCordoned"] is True


def test_a_freeze_only_annotates_unless_asked(kubectl, state, tmp_path):
    log = run(kubectl, state, doc(2, event(kind="Freeze")))
    assert kubectl.verbs() == ["annotate"] and not kubectl.node()["unschedulable"]
    assert run.posts == [{"StartRequests": [{"EventId": ID1}]}]
    assert f"node node1 annotated (Freeze is not drained: see --drain-on) for Freeze {ID1}" in log

    asked = FakeKubectl(tmp_path / "asked")
    run(asked, state, doc(2, event(ID2, kind="Freeze")), drain_on=("Freeze", "Reboot"))
    assert asked.verbs() == ["get", "cordon", "annotate", "drain"]


def test_an_event_of_other_vms_leaves_the_node_alone(kubectl, state):
    run(kubectl, state, doc(2, event(resources=("vm2",))))
    assert kubectl.calls() == [] and run.posts == []
    log = run(kubectl, state, doc(3, event(ID2, resources=("vm2",))), all_resources=True)
    assert kubectl.calls() == [] and run.posts == [{"StartRequests": [{"EventId": ID2}]}]
    assert any("node node1 left as it is" in line for line in log)


@pytest.mark.parametrize(("kind", "in_seconds", "timeout", "grace"), [
    ("Preempt", 30, 25, 12),          # its 30 s of notice, less the margin
    ("Reboot", 15 * 60, 895, 300),    # the grace period stops at MAX_GRACE
    ("Reboot", 3, kube.FLOOR, 5),     # nearly due: the floor
])
def test_the_drain_fits_the_notice(kubectl, state, kind, in_seconds, timeout, grace):
    run(kubectl, state, doc(2, event(kind=kind, in_seconds=in_seconds)))
    drain = kubectl.calls()[-1]
    # NotBefore is in whole seconds, and the watch's paced requests take some of the notice
    assert grace - 1 <= int(drain[4][len("--grace-period="):]) <= grace
    assert timeout - 2 <= int(drain[5][len("--timeout="):-1]) <= timeout


def test_a_started_event_gets_the_floor(kubectl, state):
    run(kubectl, state, doc(2, event(status="Started")))
    assert kubectl.calls()[-1][4:] == ["--grace-period=5", f"--timeout={int(kube.FLOOR)}s"]


def test_a_drain_refused_by_a_pdb_is_tried_again_until_it_goes_through(tmp_path, state):
    kubectl = FakeKubectl(tmp_path / "bin", refusals=2)
    log = run(kubectl, state, doc(2, event(kind="Reboot")))
    assert kubectl.verbs() == ["get", "cordon", "annotate", "drain", "drain", "drain"]
    assert run.sleeps.count(kube.PAUSE) == 2 and run.posts
    assert sum("refused by a PodDisruptionBudget: trying again" in line for line in log) == 2
    timeouts = [int(c[5][len("--timeout="):-1]) for c in kubectl.calls()[3:]]
    assert timeouts == sorted(timeouts, reverse=True) and timeouts[0] - timeouts[-1] >= 2 * kube.PAUSE - 1


def test_a_drain_refused_until_the_deadline_is_reported_and_not_acknowledged(tmp_path, state):
    kubectl = FakeKubectl(tmp_path / "bin", refusals=1000)
    hook = f'echo "$IMDS_NODE_DRAIN" > {tmp_path}/told'
    log = run(kubectl, state, doc(2, event(kind="Preempt", in_seconds=30)), hook=hook)
    drains = kubectl.verbs().count("drain")
    assert 4 <= drains <= 6  # 25 s of deadline, a try every 5 s
    said = f"drain refused by a PodDisruptionBudget {drains} times until the deadline (25s)"
    assert any(said[:-6] in line and f"Preempt {ID1}" in line for line in log), log
    assert f"Preempt {ID1} not acknowledged: the node was not drained" in log
    assert run.posts == [] and state.records[ID1]["kubeOk"] is False
    assert "PodDisruptionBudget" in state.records[ID1]["kubeDrain"]
    assert "PodDisruptionBudget" in (tmp_path / "told").read_text()


def test_a_node_that_cannot_be_read_is_tried_until_the_deadline_then_reported(tmp_path, state, kubectl):
    kubectl.node_file.write_text(kubectl.node_file.read_text().replace('"node1"', '"other"'))
    log = run(kubectl, state, doc(2, event(kind="Preempt", in_seconds=30)))
    assert set(kubectl.verbs()) == {"get"} and 4 <= len(kubectl.verbs()) <= 6 and run.posts == []
    assert any(line.endswith('not cordoned (kubectl get node exited 1: Error from server (NotFound): '
                             'nodes "node1" not found)') for line in log), log
    assert state.records[ID1]["kubeOk"] is False and "kubeCordoned" not in state.records[ID1]


def test_a_drain_that_fails_otherwise_is_not_retried(tmp_path, state, kubectl):
    kubectl.path.write_text(kubectl.path.read_text().replace(
        'elif verb == "drain":', 'elif verb == "drain" and False:'))
    log = run(kubectl, state, doc(2, event()))
    assert kubectl.verbs() == ["get", "cordon", "annotate", "drain"] and run.posts == []
    assert any("drain failed (kubectl exited 1): error: unknown command" in line for line in log), log


def test_a_node_the_watch_cordoned_is_uncordoned_once_its_events_are_gone(kubectl, state):
    run(kubectl, state, doc(2, event(), event(ID2, kind="Redeploy")))
    assert kubectl.verbs() == ["get", "cordon", "annotate", "drain", "get", "annotate", "drain"]
    assert state.records[ID2]["kubeCordoned"] is True  # cordoned by this watch, for the first
    run(kubectl, state, doc(3, event(ID2, kind="Redeploy")))  # one is gone, one still pending
    assert "uncordon" not in kubectl.verbs()
    log = run(kubectl, state, doc(4), doc(5))
    assert kubectl.verbs().count("uncordon") == 1 and not kubectl.node()["unschedulable"]
    assert "uncordoned node node1: its events are gone" in log


def test_a_node_an_operator_cordoned_is_never_uncordoned(tmp_path, state):
    kubectl = FakeKubectl(tmp_path / "bin", unschedulable=True)
    log = run(kubectl, state, doc(2, event()), doc(3), doc(4))
    assert kubectl.verbs() == ["get", "annotate", "drain"]
    assert kubectl.node()["unschedulable"] and state.records[ID1]["kubeCordoned"] is False
    assert "node node1 was already cordoned (by someone else: it will not be uncordoned)" in log


def test_across_restarts_nothing_is_done_twice(kubectl, state):
    run(kubectl, state, doc(2, event()))
    done = kubectl.calls()
    log = run(kubectl, state, doc(2, event()), doc(2, event()))  # two restarts, the event still there
    assert kubectl.calls() == done and run.posts == []
    assert f"node node1 was handled for Reboot {ID1} before this watch started (drained)" in log
    run(kubectl, state, doc(3), doc(3))  # restarted after the reboot: the event is gone
    assert kubectl.verbs()[len(done):] == ["uncordon"]
    assert state.records[ID1]["kubeUncordoned"] is True


def test_a_drain_interrupted_by_a_restart_runs_again_without_a_second_cordon(kubectl, state):
    state.records[ID1] = {"type": "Reboot", "seen": "2026-01-01T00:00:00.000+00:00", "attempts": 0,
                          "kubeCordoned": True, "kubeAnnotated": True, "kubeDrainStarted": True}
    state.save()
    run(kubectl, state, doc(2, event()))
    assert kubectl.verbs() == ["annotate", "drain"] and state.records[ID1]["kubeDrain"] == "drained"
    run(kubectl, state, doc(3))
    assert kubectl.verbs()[-1] == "uncordon"  # its cordon was this watch's


def test_drain_types():
    assert kube.drain_types("preempt, Terminate,preempt") == ("Preempt", "Terminate")
    with pytest.raises(ValueError, match="unknown event type Pause"):
        kube.drain_types("Reboot,Pause")


def test_the_webhook_hears_how_the_node_step_ended(tmp_path, state):
    kubectl = FakeKubectl(tmp_path / "bin", refusals=1000)
    heard = []
    run(kubectl, state, doc(2, event(kind="Preempt", in_seconds=30)), notify=heard.append)
    (handled,) = [r for r in heard if r["change"] == "handled"]
    assert handled["outcome"].startswith("node drain refused by a PodDisruptionBudget")
    assert handled["outcome"].endswith("; not acknowledged") and handled["acknowledged"] is False
