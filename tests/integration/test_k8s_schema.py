#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""contrib/kubernetes/*.yaml against the Kubernetes API's own types, without
a cluster. No kubectl here validates without an API server, and the
validate() of kubernetes-models (the API's OpenAPI types for JavaScript)
lets unknown fields through; TypeScript does not: each object becomes a
literal of its API type (IDaemonSet, IConfigMap, INamespace), whose excess
property check refuses a field the API does not have (hostPid for hostPID)
and whose type check refuses a value of the wrong type. A copy of the
DaemonSet with hostPID misspelt must be refused, so the check can fail.

The packages (tests/integration/k8s-schema: kubernetes-models and
typescript, locked) come from the npm registry once, into a cache keyed by
the lock file (/var/cache/finwatch-k8s-schema, FINWATCH_K8S_SCHEMA_CACHE)."""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import fwtest
import k8s

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = os.path.join(HERE, "k8s-schema")
MODULES = {"v1": "kubernetes-models/v1", "apps/v1": "kubernetes-models/apps/v1"}


def packages():
    """The cache directory holding node_modules for the lock file."""
    files = [os.path.join(PACKAGES, f) for f in ("package.json", "package-lock.json")]
    key = hashlib.sha256(b"".join(open(f, "rb").read() for f in files)).hexdigest()[:16]
    cache = os.environ.get("FINWATCH_K8S_SCHEMA_CACHE", "/var/cache/finwatch-k8s-schema")
    d = os.path.join(cache, key)
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(d, "done")):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            for f in files:
                shutil.copy(f, d)
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=d,
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                shutil.rmtree(d, ignore_errors=True)
                raise RuntimeError(f"npm ci: {r.stderr[-2000:]}")
            open(os.path.join(d, "done"), "w").close()
            for old in os.listdir(cache):  # other keys: older lock files
                if old not in (key, "lock"):
                    shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
    return d


def typescript(objects):
    """A TypeScript module declaring each (name, object) as a literal of its API type."""
    imports, body = set(), []
    for name, o in objects:
        module = MODULES.get(o.get("apiVersion"))
        if module is None:
            raise ValueError(f"{name}: apiVersion {o.get('apiVersion')} is not one the check knows")
        imports.add(f'import type {{ I{o["kind"]} }} from "{module}/{o["kind"]}";')
        body.append(f"export const {name}: I{o['kind']} = {json.dumps(o, indent=1)};")
    return "\n".join(sorted(imports) + body) + "\n"


def tsc(modules, objects):
    """tsc --noEmit over the objects: (exit status, what it said)."""
    with tempfile.TemporaryDirectory(dir=modules) as work:
        with open(os.path.join(work, "check.ts"), "w") as f:
            f.write(typescript(objects))
        with open(os.path.join(work, "tsconfig.json"), "w") as f:
            json.dump({"compilerOptions": {"strict": True, "noEmit": True, "module": "nodenext",
                                           "moduleResolution": "nodenext", "target": "es2022",
                                           "skipLibCheck": True}, "files": ["check.ts"]}, f)
        r = subprocess.run(["node", os.path.join(modules, "node_modules/typescript/bin/tsc"), "-p", work],
                           capture_output=True, text=True, timeout=300)
        return r.returncode, (r.stdout + r.stderr).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            fwtest.skip_or_fail(f"{tool} is needed")
    if os.geteuid() != 0 and "FINWATCH_K8S_SCHEMA_CACHE" not in os.environ:
        fwtest.skip_or_fail("the package cache is in /var/cache: root, or FINWATCH_K8S_SCHEMA_CACHE")
    modules = packages()
    objects = []
    for f in ("finwatch.yaml", "node-problem-detector.yaml"):
        docs = k8s.load_yaml(os.path.join(a.source, "contrib/kubernetes", f))
        objects += [(f"{f.split('.')[0].replace('-', '_')}_{i}", d) for i, d in enumerate(docs)]
    failed = 0
    code, said = tsc(modules, objects)
    if code != 0 or said:
        print(f"FAIL: contrib/kubernetes against the API's types:\n{said}", file=sys.stderr)
        failed += 1
    else:
        print(f"{len(objects)} objects ({', '.join(o['kind'] for _, o in objects)}): every field and type is the API's")

    bad = json.loads(json.dumps(next(o for _, o in objects if o["kind"] == "DaemonSet")))
    pod = bad["spec"]["template"]["spec"]
    pod["hostPid"] = pod.pop("hostPID", True)
    code, said = tsc(modules, [("misspelt", bad)])
    if code == 0 or "'\"hostPid\"' does not exist in type 'IPodSpec'" not in said:
        print(f"FAIL: a DaemonSet with hostPid for hostPID is refused: {code} {said}", file=sys.stderr)
        failed += 1
    if failed:
        sys.exit(1)
    print("test_k8s_schema: all checks passed")


if __name__ == "__main__":
    main()
