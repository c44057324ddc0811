"""A Kubernetes client library other than kubectl: Debian's python3-kubernetes
lists, watches (it sends watch=True), creates, patches and deletes through
the hub."""
import threading

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, config, watch  # noqa: E402


def test_python_client_crud_and_watch(hub):
    api_client = config.new_client_from_config(config_file=hub.kubeconfig)
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    try:
        events = []
        seen = threading.Event()

        # From the revision before the writes: however late the thread's
        # connection (a TLS handshake on a loaded machine), it sees them all.
        rv = core.list_namespaced_config_map("default").metadata.resource_version

        def watcher():
            w = watch.Watch()
            for ev in w.stream(core.list_namespaced_config_map, namespace="default", timeout_seconds=20,
                               resource_version=rv):
                events.append((ev["type"], ev["object"].metadata.name, dict(ev["object"].data or {})))
                if ev["type"] == "DELETED":
                    seen.set()
                    w.stop()

        t = threading.Thread(target=watcher, daemon=True)
        t.start()

        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py"), data={"a": "1"})
        created = core.create_namespaced_config_map("default", cm)
        assert created.metadata.uid and created.data == {"a": "1"}
        names = [c.metadata.name for c in core.list_namespaced_config_map("default").items]
        assert "py" in names
        patched = core.patch_namespaced_config_map("py", "default", {"data": {"b": "2"}})
        assert patched.data == {"a": "1", "b": "2"}
        core.delete_namespaced_config_map("py", "default")
        assert seen.wait(20), "watch saw: %r" % events
        t.join(5)
        types = [e[0] for e in events if e[1] == "py"]
        assert types[:3] == ["ADDED", "MODIFIED", "DELETED"], events

        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pyd"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "pyd"}},
                        "template": {"metadata": {"labels": {"app": "pyd"}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}
        apps.create_namespaced_deployment("default", dep)
        d = apps.patch_namespaced_deployment("pyd", "default",
                                             {"spec": {"template": {"spec": {"containers": [
                                                 {"name": "c", "image": "nginx:1.28"}]}}}})
        assert d.spec.template.spec.containers[0].image == "nginx:1.28"
        assert d.spec.replicas == 2
        assert [x.metadata.name for x in apps.list_namespaced_deployment("default").items] == ["pyd"]
        apps.delete_namespaced_deployment("pyd", "default")
        with pytest.raises(client.exceptions.ApiException) as e:
            apps.read_namespaced_deployment("pyd", "default")
        assert e.value.status == 404

        pp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "pyp"},
              "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "pyd"}],
                       "placement": {"clusterAffinity": {"clusterNames": ["m1"]}}}}
        custom.create_namespaced_custom_object("policy.karmada.io", "v1alpha1", "default", "propagationpolicies", pp)
        got = custom.list_namespaced_custom_object("policy.karmada.io", "v1alpha1", "default", "propagationpolicies")
        assert [i["metadata"]["name"] for i in got["items"]] == ["pyp"]
        custom.delete_namespaced_custom_object("policy.karmada.io", "v1alpha1", "default", "propagationpolicies", "pyp")
    finally:
        api_client.close()
