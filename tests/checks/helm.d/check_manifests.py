#!/usr/bin/env python3
"""Asserts what the changefeed chart must render: the probes, the security context, the config
checksum, every ${NAME} of the configuration as a Secret reference (and no secret value outside
the Secret), and the optional objects the values ask for. Then, when a changefeed binary is given,
feeds the rendered configuration and the credentials to `changefeed check-config`.

usage: check_manifests.py default|inline|existing RENDERED.yaml [VALUES.yaml] [--binary BIN]
"""
import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile

import yaml

REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)
    return condition


def source_env(source, knob):
    return f"CHANGEFEED_{source}_{knob}".upper().replace("-", "_")


def expected_credentials(values):
    """env name -> value, as the values file gives them (the chart's Secret must hold these)."""
    secrets = values.get("secrets", {})
    out = {"DATABASE_URL": secrets.get("databaseUrl", "")}
    for i, token in enumerate(secrets.get("feedTokens", []), start=1):
        out[f"FEED_TOKEN_{i}"] = token
    for source in values.get("config", {}).get("sources", []):
        for knob, value in (source.get("credentials") or {}).items():
            out[source_env(source["name"], knob)] = value
    return out


def one(by_kind, kind):
    objs = by_kind.get(kind, [])
    check(len(objs) == 1, f"expected one {kind}, found {len(objs)}")
    return objs[0] if objs else None


def check_probe(container, name, path):
    probe = container.get(name) or {}
    get = probe.get("httpGet") or {}
    check(get.get("path") == path and get.get("port") == "http",
          f"{name} must GET {path} on port http, is {probe!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["default", "inline", "existing"])
    parser.add_argument("rendered")
    parser.add_argument("values", nargs="?")
    parser.add_argument("--binary")
    args = parser.parse_args()

    values = {}
    if args.values:
        with open(args.values) as f:
            values = yaml.safe_load(f) or {}
    with open(args.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)

    deployment = one(by_kind, "Deployment")
    service = one(by_kind, "Service")
    configmap = one(by_kind, "ConfigMap")
    if not (deployment and service and configmap):
        return

    # ---- pods: selectors, probes, security context, volumes ----
    spec = deployment["spec"]
    pod = spec["template"]
    pod_labels = pod["metadata"].get("labels", {})
    selector = spec["selector"]["matchLabels"]
    check(selector.items() <= pod_labels.items(), "the Deployment's selector must match its pods")
    check(service["spec"]["selector"] == selector, "the Service must select the Deployment's pods")
    check(service["spec"]["ports"][0].get("targetPort") == "http", "the Service targets port http")
    want_replicas = values.get("replicaCount", 2)
    check(spec.get("replicas") == want_replicas, f"replicas must be {want_replicas}")

    annotations = pod["metadata"].get("annotations", {})
    check(re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/config", ""))),
          "the pod template needs a checksum/config annotation")

    pod_spec = pod["spec"]
    check(pod_spec.get("automountServiceAccountToken") is False, "no service account token")
    pod_sc = pod_spec.get("securityContext") or {}
    check(pod_sc.get("runAsNonRoot") is True, "pod securityContext.runAsNonRoot must be true")
    check(isinstance(pod_sc.get("runAsUser"), int) and pod_sc["runAsUser"] != 0,
          "pod securityContext.runAsUser must be a non-zero uid")
    check(isinstance(pod_sc.get("runAsGroup"), int) and pod_sc["runAsGroup"] != 0,
          "pod securityContext.runAsGroup must be a non-zero gid")
    check((pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
          "pod securityContext.seccompProfile must be RuntimeDefault")
    check(not pod_spec.get("hostNetwork") and not pod_spec.get("hostPID") and not pod_spec.get("hostIPC"),
          "no host namespaces")
    containers = pod_spec["containers"]
    check(len(containers) == 1, "one container")
    c = containers[0]
    check(c.get("args") == ["serve", "--config", "/etc/changefeed/config.yaml"],
          f"container args are {c.get('args')!r}")
    check(any(p.get("name") == "http" and p.get("containerPort") == 8080 for p in c.get("ports", [])),
          "the container exposes port http (8080)")
    check_probe(c, "livenessProbe", "/healthz")
    check_probe(c, "readinessProbe", "/readyz")
    check_probe(c, "startupProbe", "/healthz")
    sc = c.get("securityContext") or {}
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
    check(sc.get("runAsNonRoot") is True, "container runAsNonRoot must be true")
    check(sc.get("privileged") in (None, False), "the container must not be privileged")
    check(sc.get("runAsUser") is None or (isinstance(sc["runAsUser"], int) and sc["runAsUser"] != 0),
          "container securityContext.runAsUser must not be root")
    caps = sc.get("capabilities") or {}
    check(caps.get("drop") == ["ALL"] and not caps.get("add"), f"capabilities must drop ALL: {caps!r}")
    resources = c.get("resources") or {}
    check(resources.get("requests") and resources.get("limits"), "resources need requests and limits")
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    tmp = mounts.get("/tmp")
    check(tmp is not None and "emptyDir" in volumes.get(tmp["name"], {}), "/tmp must be an emptyDir")
    etc = mounts.get("/etc/changefeed")
    check(etc is not None and volumes.get(etc["name"], {}).get("configMap", {}).get("name")
          == configmap["metadata"]["name"], "/etc/changefeed must be the ConfigMap")

    # ---- the configuration and its secret references ----
    config_text = configmap["data"]["config.yaml"]
    config = yaml.safe_load(config_text)
    check(config.get("listen") == "0.0.0.0:8080", f"listen is {config.get('listen')!r}")
    check(config.get("database_url") == "${DATABASE_URL}", "database_url must be ${DATABASE_URL}")
    tokens = values.get("secrets", {}).get("feedTokens", [])
    check(config.get("feed", {}).get("tokens") == [f"${{FEED_TOKEN_{i}}}" for i in range(1, len(tokens) + 1)],
          f"feed.tokens are {config.get('feed', {}).get('tokens')!r}")
    for want, got in zip(values.get("config", {}).get("sources", []), config.get("sources", [])):
        check("credentials" not in got, f"source {want['name']}: credentials leaked into the config")
        for knob in (want.get("credentials") or {}):
            check(got.get(knob) == f"${{{source_env(want['name'], knob)}}}",
                  f"source {want['name']}: {knob} must be a ${{...}} reference, is {got.get(knob)!r}")

    refs = set(REF.findall(config_text))
    expected = expected_credentials(values)
    check(refs == set(expected), f"the config references {sorted(refs)}, expected {sorted(expected)}")
    secret_name = values.get("secrets", {}).get("existingSecret") or deployment["metadata"]["name"]
    env = {e["name"]: e for e in c.get("env", [])}
    for name in sorted(refs):
        entry = env.get(name)
        if not check(entry is not None, f"${{{name}}} has no env entry"):
            continue
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
        check("value" not in entry and ref.get("name") == secret_name and ref.get("key") == name,
              f"env {name} must come from Secret {secret_name} key {name}: {entry!r}")

    # ---- the Secret: the chart's own, or none ----
    secrets = by_kind.get("Secret", [])
    if args.case == "existing":
        check(not secrets, "with existingSecret the chart renders no Secret")
        check("checksum/secret" not in annotations, "no checksum/secret without the chart's Secret")
    else:
        secret = one(by_kind, "Secret")
        if secret:
            check(secret["metadata"]["name"] == secret_name, "the Secret's name")
            data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
            check(data == {k: str(v) for k, v in expected.items()},
                  f"the Secret holds {sorted(data)}, expected {sorted(expected)} with the given values")
            check(re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/secret", ""))),
                  "the pod template needs a checksum/secret annotation")
        outside = yaml.safe_dump_all([d for d in docs if d["kind"] != "Secret"])
        for name, value in expected.items():
            if value:
                check(str(value) not in outside, f"the value of {name} appears outside the Secret")

    # ---- optional objects ----
    pdb = by_kind.get("PodDisruptionBudget", [])
    if check(len(pdb) == 1, "a PodDisruptionBudget"):
        pdb_spec = pdb[0]["spec"]
        check(pdb_spec["selector"]["matchLabels"] == selector, "the PDB must select the pods")
        min_available = values.get("podDisruptionBudget", {}).get("minAvailable")
        if min_available is not None:
            check(pdb_spec.get("minAvailable") == min_available and "maxUnavailable" not in pdb_spec,
                  f"PDB: {pdb_spec!r}")
        else:
            check(pdb_spec.get("maxUnavailable") == 1 and "minAvailable" not in pdb_spec,
                  f"PDB: {pdb_spec!r}")

    if args.case == "existing":
        check(c["image"] == "registry.example.com/team/changefeed:1.2.3", f"image is {c['image']}")
        check(env.get("TZ", {}).get("value") == "UTC", "extraEnv reaches the container")
        ingress = one(by_kind, "Ingress")
        if ingress:
            rules = ingress["spec"]["rules"]
            check(ingress["spec"].get("ingressClassName") == "nginx", "ingressClassName")
            check(ingress["spec"].get("tls"), "the Ingress keeps its tls")
            check([r.get("host") for r in rules] == ["changefeed.example.com"], "the Ingress host")
            for rule in rules:
                paths = rule["http"]["paths"]
                check(len(paths) == 1 and paths[0]["path"] == "/webhooks/"
                      and paths[0]["pathType"] == "Prefix", f"only /webhooks/ is exposed: {paths!r}")
                backend = paths[0]["backend"]["service"]
                check(backend == {"name": service["metadata"]["name"], "port": {"name": "http"}},
                      f"the Ingress backend: {backend!r}")
        monitor = one(by_kind, "ServiceMonitor")
        if monitor:
            check(monitor["metadata"]["labels"].get("release") == "prometheus",
                  "serviceMonitor.labels reach the ServiceMonitor")
            check(monitor["spec"]["selector"]["matchLabels"].items()
                  <= service["metadata"]["labels"].items(), "the ServiceMonitor selects the Service")
            endpoint = monitor["spec"]["endpoints"][0]
            check(endpoint.get("port") == "http" and endpoint.get("path") == "/metrics",
                  f"the ServiceMonitor scrapes /metrics on http: {endpoint!r}")
    else:
        check("Ingress" not in by_kind and "ServiceMonitor" not in by_kind,
              "no Ingress and no ServiceMonitor unless enabled")

    # ---- the rendered configuration is one the service accepts ----
    if args.binary and not problems:
        run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for name, value in expected.items():
            run_env[name] = str(value) or f"placeholder-{name.lower()}"
        if not expected.get("DATABASE_URL"):
            run_env["DATABASE_URL"] = "postgresql://changefeed:placeholder@postgres:5432/changefeed"
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(config_text)
            f.flush()
            done = subprocess.run([args.binary, "check-config", "--config", f.name], env=run_env,
                                  capture_output=True, text=True, timeout=60)
        check(done.returncode == 0,
              f"changefeed check-config rejects the rendered config: {done.stderr.strip()}")
        for name, value in expected.items():
            if value:
                check(str(value) not in done.stdout, f"check-config printed the value of {name}")

    if problems:
        for p in problems:
            print(f"FAIL ({args.case}): {p}", file=sys.stderr)
        sys.exit(1)
    print(f"helm manifests ({args.case}): all checks passed")


if __name__ == "__main__":
    main()
