#!/usr/bin/env python3
"""make bench: synth cost, template size and handler cost of EvaluationJob, against the plain
AwsCustomResource approach, measured side by side in one run; writes BENCHMARKS.md.

    .venv/bin/python scripts/bench.py [--output BENCHMARKS.md] [--budget-seconds 540]

Every synth runs `scripts/bench_app.py <variant> <N> <outdir>` in a fresh process, so each
sample pays its own interpreter, aws-cdk-lib import and jsii (Node) start-up. Variants are
interleaved round by round (floor, then at each N: ours, ours-shared, acr, rotated each round),
and each figure is the median of its rounds. Progress goes to stderr; the tables to stdout and
to BENCHMARKS.md, and the verdict of each target to stderr. Templates are read with the tests'
CloudFormation helpers (tests/cfn.py), with names as long as a deployed stack's. Nothing here
calls AWS.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

sys.path.insert(0, str(ROOT / "tests"))

import bench_app  # noqa: E402  (the runner: variants, job specs, stack name)
import cfn  # noqa: E402  (the tests' CloudFormation helpers: resolving intrinsics, a role's policies)

sys.path.insert(0, str(ROOT / "constructs"))
from bedrock_evaluation.access import FRAMEWORK_POLICY_NAME, HANDLER_POLICY_NAME, JOB_POLICY_NAME  # noqa: E402  (stdlib only: no CDK in this process)

NS = (1, 10, 50, 150)
REPETITIONS = {1: 5, 10: 5, 50: 5, 150: 3}
JOB_VARIANTS = ("ours", "ours-shared", "acr")
FLOOR = "empty"
# The template `ours` writes, included as it is: the least any CDK app pays to synthesize it.
TEMPLATE = "ours-template"
TIMED_VARIANTS = (*JOB_VARIANTS, TEMPLATE)
LABELS = {
    FLOOR: "empty stack (floor)",
    "ours": "EvaluationJob, a role per job",
    "ours-shared": "EvaluationJob, one shared role",
    "acr": "AwsCustomResource per job",
    TEMPLATE: "our template, included as it is",
}
TARGET_N = 50
# When the time budget runs short, later rounds lose these N first (the targets are judged at N = 50).
DROP_ORDER = (150, 10, 1, 50)
IMPORT_RUNS = 21
TRACE_N = 10  # jobs added between the two traced runs
TOP_SITES = 10
# For the whole `make bench`, set-up included: under ten minutes, with a margin for the last synth.
DEFAULT_BUDGET_SECONDS = 540.0
HANDLER_DIR = ROOT / "lambda" / "evaluation_job"

# CloudFormation and IAM limits the templates are checked against.
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000  # template body uploaded to S3 (what `cdk deploy` does)
MAX_ROLE_INLINE_POLICY_CHARS = 10_240  # aggregate of a role's inline policies, whitespace not counted
MAX_MANAGED_POLICY_CHARS = 6_144  # one customer managed policy
MAX_MANAGED_POLICIES_PER_ROLE = 10  # default quota (adjustable to 20)

# Values the intrinsics of a policy get when deployed, with generated names as long as
# CloudFormation makes them: the tests' resolver (tests/cfn.py), with deployed names.
DEPLOYED = cfn.DeployedNames(bench_app.STACK_NAME)
ACCOUNT, REGION = cfn.ACCOUNT, cfn.REGION
OTHER_BYTES = "(outside Resources: parameters, rules, outputs)"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the environment every child runs in ---------------------------------------------------


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    # jsii runs the Node that comes first on PATH: the project's Node 22.
    env["PATH"] = os.pathsep.join([str(ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("AWS_DATA_PATH", None)
    env.pop("CDK_CONTEXT_JSON", None)
    env.pop("CDK_OUTDIR", None)
    return env


# --- peak memory of a process tree, from /proc ----------------------------------------------


def _parent_pids() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _tree(root: int) -> set[int]:
    parents = _parent_pids()
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


class TreeMemory(threading.Thread):
    """Peak of the summed RSS of a process and all its descendants (python + the jsii Node
    processes), sampled from /proc every `interval` seconds; descendants are re-listed every
    `rescan` samples."""

    def __init__(self, root: int, interval: float = 0.025, rescan: int = 8) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.rescan = root, interval, rescan
        self.peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        pids: set[int] = {self.root}
        sample = 0
        while not self._done.is_set():
            if sample % self.rescan == 0:
                pids = _tree(self.root)
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(pid) for pid in pids))
            sample += 1
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kib


# --- reading a synthesized template ---------------------------------------------------------


def policy_chars(document: Any, template: dict[str, Any]) -> int:
    """Characters IAM counts for a policy document: the deployed JSON without whitespace."""
    return len(json.dumps(cfn.resolve(document, template, DEPLOYED), separators=(",", ":")))


def _role_of(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


OUR_POLICY_NAMES = frozenset({JOB_POLICY_NAME, HANDLER_POLICY_NAME, FRAMEWORK_POLICY_NAME})


def handler_role(template: dict[str, Any], variant: str) -> str | None:
    """The role of the Lambda function that calls Bedrock for the custom resources."""
    for logical_id, resource in template.get("Resources", {}).items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties", {})
        ours = variant.startswith("ours") and properties.get("Handler") == "index.on_event"
        theirs = variant == "acr" and logical_id.startswith("AWS679f53fac002430cb0da5b7982bd2287")
        if ours or theirs:
            return _role_of(properties.get("Role"))
    return None


@dataclass
class RolePolicies:
    """What IAM limits per role: its inline policies together, and its managed policies."""

    inline_chars: int = 0
    fixed_inline_chars: int = 0
    """Inline policies nothing moves into managed policies: all but the role's DefaultPolicy (CDK
    splits an oversized one into OverflowPolicy managed policies) and this library's own inline
    policy of a service role (split into the role's managed policies the same way)."""
    managed_chars: list[int] = field(default_factory=list)
    managed_count: int = 0


@dataclass
class TemplateFacts:
    bytes: int
    resources: int
    jobs: int
    lambdas: int
    largest_policy_chars: int
    roles: dict[str, RolePolicies]
    handler_role: str | None
    bytes_by_type: dict[str, int] = field(default_factory=dict)
    """Template bytes per resource type, as written (the rest of the template under OTHER_BYTES)."""
    least_bytes: int = 0
    """The template's bytes with each job and its service role cut to what the job needs (least_template)."""
    refused: list[str] = field(default_factory=list)

    @property
    def handler_role_chars(self) -> int:
        return self.roles[self.handler_role].inline_chars if self.handler_role in self.roles else 0

    @property
    def largest_role(self) -> tuple[str, int]:
        """The role with the most inline policy characters."""
        return max(((r, p.inline_chars) for r, p in self.roles.items()), key=lambda item: item[1], default=("-", 0))

    @property
    def largest_managed_chars(self) -> int:
        return max((c for p in self.roles.values() for c in p.managed_chars), default=0)

    @property
    def most_managed(self) -> int:
        return max((p.managed_count for p in self.roles.values()), default=0)

    @property
    def cfn_ok(self) -> bool:
        return self.resources <= MAX_RESOURCES and self.bytes <= MAX_TEMPLATE_BYTES

    def iam_problems(self) -> list[str]:
        problems = []
        for role, policies in self.roles.items():
            if policies.inline_chars > MAX_ROLE_INLINE_POLICY_CHARS:
                problems.append(
                    f"role `{role}` has {policies.inline_chars:,} characters of inline policies > {MAX_ROLE_INLINE_POLICY_CHARS:,}"
                )
            too_big = [c for c in policies.managed_chars if c > MAX_MANAGED_POLICY_CHARS]
            if too_big:
                problems.append(
                    f"role `{role}` has {len(too_big)} managed policies over {MAX_MANAGED_POLICY_CHARS:,} characters (largest {max(too_big):,})"
                )
            if policies.managed_count > MAX_MANAGED_POLICIES_PER_ROLE:
                problems.append(
                    f"role `{role}` has {policies.managed_count} managed policies > {MAX_MANAGED_POLICIES_PER_ROLE} (default quota)"
                )
        return problems

    @property
    def iam_ok(self) -> bool:
        return not self.iam_problems()


# What a job needs written, whatever library writes it: its handler, its request and the prefix the
# handler names the job by (the request carries no jobName), and its service role's trust policy and
# permissions. The rest is optional: ServiceTimeout and Removal are the defaults, the job's DependsOn
# on the handler's role is implied through the provider, a description and metadata are for readers.
JOB_NEEDS = ("ServiceToken", "Request", "JobNamePrefix")
ROLE_NEEDS = ("AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns")


def least_template(template: dict[str, Any], job_type: str | None) -> dict[str, Any]:
    """The template with every job resource and its service role cut to what they need: no
    metadata, dependencies, descriptions, or properties the handler could default."""
    resources = dict(template.get("Resources", {}))
    for logical_id, resource in template.get("Resources", {}).items():
        if resource["Type"] != job_type:
            continue
        properties = resource.get("Properties", {})
        resources[logical_id] = {"Type": job_type, "Properties": {k: v for k, v in properties.items() if k in JOB_NEEDS}}
        role = _role_of(properties.get("Request", {}).get("roleArn"))
        if role in resources and resources[role]["Type"] == "AWS::IAM::Role":
            kept = {k: v for k, v in resources[role].get("Properties", {}).items() if k in ROLE_NEEDS}
            resources[role] = {"Type": "AWS::IAM::Role", "Properties": kept}
    return {**template, "Resources": resources}


def template_facts(path: Path, variant: str) -> TemplateFacts:
    template = json.loads(path.read_text())
    resources: dict[str, Any] = template.get("Resources", {})
    roles = {logical_id: RolePolicies() for logical_id, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    largest = 0
    for role, policies in roles.items():
        managed = {json.dumps(a, sort_keys=True) for a in resources[role]["Properties"].get("ManagedPolicyArns", [])}
        # The inline policy this library writes into its roles (the service roles', the handler's and
        # the framework's) is split by it (into the role's own managed policies) when it would exceed
        # its share, as CDK splits a DefaultPolicy.
        ours = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", []) if p.get("PolicyName") in OUR_POLICY_NAMES]
        for holder, document in cfn.policy_documents(template, role):
            chars = policy_chars(document, template)
            largest = max(largest, chars)
            kind = resources[holder]["Type"]
            if kind == "AWS::IAM::ManagedPolicy":
                policies.managed_chars.append(chars)
                managed.add(json.dumps({"Ref": holder}, sort_keys=True))
                continue
            policies.inline_chars += chars
            if "DefaultPolicy" not in holder and not any(document is d for d in ours):
                policies.fixed_inline_chars += chars
        policies.managed_count = len(managed)
    job_type = bench_app.JOB_RESOURCE_TYPE.get(variant)
    # CDK writes the template as JSON with a one-space indent; a resource's share is its own text there.
    by_type: dict[str, int] = {}
    for logical_id, resource in resources.items():
        text = json.dumps({logical_id: resource}, indent=1)[2:-2]
        size = len(text.replace("\n", "\n ")) + 3  # two levels deeper, a comma and a line break
        by_type[resource["Type"]] = by_type.get(resource["Type"], 0) + size
    size = path.stat().st_size
    by_type[OTHER_BYTES] = size - sum(by_type.values())
    return TemplateFacts(
        bytes=size,
        least_bytes=len(json.dumps(least_template(template, job_type), indent=1)),
        bytes_by_type=by_type,
        resources=len(resources),
        jobs=sum(1 for r in resources.values() if r["Type"] == job_type),
        lambdas=sum(1 for r in resources.values() if r["Type"] == "AWS::Lambda::Function"),
        largest_policy_chars=largest,
        roles=roles,
        handler_role=handler_role(template, variant),
    )


def refusals(outdir: Path) -> list[str]:
    """What CDK's synth-time validation reported, when it refused the template."""
    report = outdir / "validation-report.json"
    if not report.is_file():
        return []
    found = []
    for plugin in json.loads(report.read_text()).get("pluginReports", []):
        for violation in plugin.get("violations", []):
            found.append(f"{violation.get('ruleName')}: {violation.get('description')}")
    return found


# --- one synth ------------------------------------------------------------------------------


@dataclass
class Sample:
    variant: str
    n: int
    seconds: float
    cpu_seconds: float
    peak_mib: float
    facts: TemplateFacts
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds inside the runner: import aws_cdk, import library, construct, synth."""
    calls: dict[str, int] = field(default_factory=dict)
    """jsii round trips (Python to Node) per phase."""
    sites: dict[str, int] = field(default_factory=dict)
    """jsii round trips per line of the library, in a traced run."""

    @property
    def startup_and_exit(self) -> float:
        return self.seconds - sum(self.phases.values())


SYNTH_TIMEOUT_SECONDS = 240.0


def _tagged(lines: list[str], prefix: str) -> Any:
    found = [line[len(prefix):] for line in lines if line.startswith(prefix)]
    return json.loads(found[-1]) if found else None


def synth_once(
    variant: str,
    n: int,
    outdir: Path,
    *,
    keep: bool = False,
    trace: bool = False,
    source: Path | None = None,
    bytecode: Path | None = None,
) -> Sample:
    """Run the runner in a fresh process and measure it from here.

    Wall time: from start to exit, taken here. CPU time: user + system of the child and the
    descendants it waited for (the jsii Node processes), from wait4. Peak memory: TreeMemory.
    `source`: the template the `ours-template` variant includes. `bytecode`: where the child reads
    and writes compiled modules (PYTHONPYCACHEPREFIX), as an installed package has them.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(SCRIPTS / "bench_app.py"), variant, str(n), str(outdir)]
    with open(outdir / "bench.stdout", "w+") as stdout, open(outdir / "bench.stderr", "w+") as stderr:
        start = time.perf_counter()
        env = child_env()
        if trace:
            env[bench_app.TRACE_ENV] = "1"
        if source is not None:
            env[bench_app.TEMPLATE_SOURCE_ENV] = str(source)
        if bytecode is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(bytecode)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
        memory = TreeMemory(process.pid)
        memory.start()
        watchdog = threading.Timer(SYNTH_TIMEOUT_SECONDS, os.killpg, (process.pid, 9))
        watchdog.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        peak_kib = memory.stop()
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if process.returncode not in (0, bench_app.REFUSED_BY_VALIDATION):
        raise RuntimeError(f"{variant} N={n} failed (exit status {process.returncode}):\n{err[-3000:]}")
    lines = out.strip().splitlines()
    facts = template_facts(Path(lines[-1]), variant)
    if process.returncode == bench_app.REFUSED_BY_VALIDATION:
        facts.refused = refusals(outdir)
    if not keep:
        shutil.rmtree(outdir, ignore_errors=True)
    jsii_calls = _tagged(lines, bench_app.JSII_PREFIX) or {}
    return Sample(
        variant,
        n,
        seconds,
        usage.ru_utime + usage.ru_stime,
        peak_kib / 1024,
        facts,
        phases=_tagged(lines, bench_app.PHASES_PREFIX) or {},
        calls=jsii_calls.get("phases", {}),
        sites=jsii_calls.get("sites", {}),
    )


# --- the handler: import time and asset size --------------------------------------------------


def import_seconds(statement: str, path: Path | None, workdir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one import statement, timed inside a fresh interpreter."""
    setup = f"import sys; sys.path.insert(0, {str(path)!r}); " if path else ""
    code = (
        f"{setup}import time; t, c = time.perf_counter(), time.process_time(); {statement}; "
        "print(time.perf_counter() - t, time.process_time() - c)"
    )
    # -B: nothing is written next to the handler; like Lambda, it compiles from source each start.
    out = subprocess.run([sys.executable, "-B", "-c", code], cwd=workdir, env=child_env(), capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def handler_imports(workdir: Path) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU times of `import boto3` and `import index`, alternating which goes first.
    `import index` runs in the handler asset as the construct builds it, as Lambda runs it: with the
    asset's contract-only `bedrock_evaluation`, not the installed package (which imports the CDK)."""
    from bedrock_evaluation.handler_asset import build_asset

    asset = workdir / "handler-asset"
    asset.mkdir(parents=True, exist_ok=True)
    build_asset(asset)
    wall: dict[str, list[float]] = {"import boto3": [], "import index": []}
    cpu: dict[str, list[float]] = {"import boto3": [], "import index": []}
    for run in range(IMPORT_RUNS):
        order = ["import boto3", "import index"] if run % 2 == 0 else ["import index", "import boto3"]
        for statement in order:
            seconds, cpu_seconds = import_seconds(statement, asset if statement == "import index" else None, workdir)
            wall[statement].append(seconds)
            cpu[statement].append(cpu_seconds)
    return wall, cpu


def asset_size(outdir: Path) -> dict[str, Any]:
    """The handler asset CDK built: the asset directory holding lifecycle.py, zipped as CDK does."""
    found = [d for d in sorted(outdir.glob("asset.*")) if d.is_dir() and (d / "lifecycle.py").is_file()]
    if not found:
        raise RuntimeError(f"no handler asset (a directory with lifecycle.py) in {outdir}")
    asset = found[0]
    files = sorted(p for p in asset.rglob("*") if p.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(asset))
    biggest = max(files, key=lambda p: p.stat().st_size)
    return {
        "files": len(files),
        "unzipped": sum(p.stat().st_size for p in files),
        "zipped": len(buffer.getvalue()),
        "biggest": (str(biggest.relative_to(asset)), biggest.stat().st_size),
        "python": sum(p.stat().st_size for p in files if p.suffix == ".py"),
    }


# --- the run --------------------------------------------------------------------------------


def rotated(items: tuple[str, ...], by: int) -> list[str]:
    by %= len(items)
    return list(items[by:] + items[:by])


def plan_round(round_index: int) -> list[tuple[str, int]]:
    runs = [(FLOOR, 1)]
    for n in NS:
        if round_index < REPETITIONS[n]:
            runs += [(variant, n) for variant in rotated(TIMED_VARIANTS, round_index)]
    return runs


def trim_round(runs: list[tuple[str, int]], fits: Any) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The runs of a round that fit the budget, dropping whole N in DROP_ORDER, then the floor."""
    dropped: list[tuple[str, int]] = []
    while runs and not fits(runs):
        left = [n for n in DROP_ORDER if any(m == n and v != FLOOR for v, m in runs)]
        out = [key for key in runs if left and key[1] == left[0] and key[0] != FLOOR] or runs
        dropped += out
        runs = [key for key in runs if key not in out]
    return runs, dropped


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    imports: dict[str, list[float]] = field(default_factory=dict)
    import_cpu: dict[str, list[float]] = field(default_factory=dict)
    asset: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    per_job_sites: dict[str, dict[str, float]] = field(default_factory=dict)
    """variant -> library line -> jsii round trips per job (traced, untimed runs)."""
    seconds: float = 0.0
    load: tuple[str, str] = ("", "")
    code: str = ""
    handler_pycache: bool = False
    at_capacity_target: dict[str, tuple[int, TemplateFacts]] = field(default_factory=dict)
    """variant -> (the jobs per stack its target asks for, the facts of that template; untimed)."""

    def of(self, variant: str, n: int) -> list[Sample]:
        return [s for s in self.samples if s.variant == variant and (variant == FLOOR or s.n == n)]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(budget: float) -> Results:
    started = time.perf_counter()
    results = Results(code=code_version())
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch)
        # Every synth reads compiled modules, as from an installed package (pip compiles a wheel's
        # modules at install): the first synth of each variant writes them, untimed.
        bytecode = work / "bytecode"
        rounds = max(REPETITIONS.values())
        total = sum(len(plan_round(r)) for r in range(rounds))
        log(f"bench: {total} synths in {rounds} interleaved rounds, N = {', '.join(map(str, NS))}; budget {budget:.0f} s; load {load_before}")

        # Untimed: they also warm the page cache for the timed runs.
        log(f"bench: where the jsii round trips come from (traced, not timed): N = 1 and N = {TRACE_N + 1}")
        for variant in ("ours", "acr"):
            one = synth_once(variant, 1, work / f"trace-{variant}-1", trace=True, bytecode=bytecode)
            more = synth_once(variant, TRACE_N + 1, work / f"trace-{variant}-n", trace=True, bytecode=bytecode)
            results.per_job_sites[variant] = {
                site: (count - one.sites.get(site, 0)) / TRACE_N
                for site, count in more.sites.items()
                if count > one.sites.get(site, 0)
            }
            log(f"  {variant}: {sum(results.per_job_sites[variant].values()):.0f} round trips per job")

        # Untimed: the capacity targets checked on the template itself, not only extrapolated.
        for variant, n in JOBS_PER_STACK.items():
            sample = synth_once(variant, n, work / f"capacity-{variant}", bytecode=bytecode)
            results.at_capacity_target[variant] = (n, sample.facts)
            found = limit_problems(sample.facts)
            log(f"bench: {variant} with {n} jobs: {sample.facts.resources} resources, {sample.facts.bytes:,} bytes: {'; '.join(found) or 'fits'}")

        # Untimed: the template of `ours` at each N, for the variant that only includes it.
        sources: dict[int, Path] = {}
        for n in NS:
            kept = work / f"source-{n}"
            synth_once("ours", n, kept, keep=True, bytecode=bytecode)
            sources[n] = work / f"source-{n}.json"
            written = json.loads((kept / f"{bench_app.STACK_NAME}.template.json").read_text())
            sources[n].write_text(json.dumps(bench_app.template_source(written)))
            shutil.rmtree(kept, ignore_errors=True)
        log(f"bench: the templates `{TEMPLATE}` includes, from `ours` at N = {', '.join(map(str, NS))}")
        for variant in (FLOOR, *TIMED_VARIANTS):
            synth_once(variant, 1, work / f"warm-{variant}", source=sources[1] if variant == TEMPLATE else None, bytecode=bytecode)
        log("bench: one untimed synth of each variant (compiled modules written, files cached)")

        log(f"bench: handler import time, {IMPORT_RUNS} fresh processes each, interleaved")
        results.handler_pycache = False  # the asset is built afresh and -B writes no bytecode, as in Lambda
        results.imports, results.import_cpu = handler_imports(work)
        for statement, times in results.imports.items():
            log(f"  {statement}: median {statement_ms(times):.0f} ms ({statement_ms(results.import_cpu[statement]):.0f} ms CPU)")

        durations: dict[tuple[str, int], list[float]] = {}
        reserve = 10.0  # the report, and a synth slower than its estimate

        def fits(runs: list[tuple[str, int]]) -> bool:
            estimate = sum(statistics.median(durations[key]) for key in runs)
            return time.perf_counter() - started + estimate + reserve <= budget

        done = 0
        for round_index in range(rounds):
            runs = plan_round(round_index)
            # The first round always runs in full. Later rounds must fit the budget: a round loses
            # its N in DROP_ORDER (the target's N last), and one that still does not fit is not started.
            if round_index > 0:
                runs, dropped = trim_round(runs, fits)
                if dropped:
                    results.skipped += [f"round {round_index + 1} {v} N={n}" for v, n in dropped]
                    log(f"bench: time budget: skipping {len(dropped)} synth(s) of round {round_index + 1}")
            for index, (variant, n) in enumerate(runs):
                if round_index > 0 and not fits([(variant, n)]):
                    rest = runs[index:]
                    results.skipped += [f"round {round_index + 1} {v} N={m}" for v, m in rest]
                    log(f"bench: time budget: skipping the last {len(rest)} synth(s) of round {round_index + 1}")
                    break
                outdir = work / f"{variant}-{n}-{round_index}"
                keep = variant.startswith("ours") and not results.asset
                source = sources[n] if variant == TEMPLATE else None
                sample = synth_once(variant, n, outdir, keep=keep, source=source, bytecode=bytecode)
                if keep:
                    results.asset = asset_size(outdir)
                    shutil.rmtree(outdir, ignore_errors=True)
                results.samples.append(sample)
                durations.setdefault((variant, n), []).append(sample.seconds)
                done += 1
                refused = " (refused by CDK validation)" if sample.facts.refused else ""
                log(
                    f"[{done:2d}/{total}] round {round_index + 1} {variant:>11} N={n:<3} "
                    f"{sample.seconds:6.2f} s wall {sample.cpu_seconds:6.2f} s CPU {sample.peak_mib:4.0f} MiB "
                    f"{sample.facts.bytes:>7} B {sample.facts.resources:>3} resources{refused}  "
                    f"(elapsed {time.perf_counter() - started:3.0f} s)"
                )
    results.seconds = time.perf_counter() - started
    results.load = (load_before, loadavg())
    return results


def statement_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


# --- the report -----------------------------------------------------------------------------


@dataclass
class Cell:
    """The medians of one variant at one N."""

    variant: str
    n: int
    runs: int
    seconds: float
    low: float
    high: float
    above_floor: float
    cpu_seconds: float
    cpu_above_floor: float
    peak_mib: float
    facts: TemplateFacts
    phases: dict[str, float]
    """Median seconds of each phase, and of start-up and exit (the rest of the wall time)."""
    calls: dict[str, int]
    """jsii round trips per phase (the same in every run)."""

    @property
    def bytes_per_job(self) -> float:
        return self.facts.bytes / self.n


def drift(results: Results) -> list[str]:
    """Variants whose template changed between rounds: the code changed while the bench ran."""
    sizes: dict[tuple[str, int], set[int]] = {}
    for sample in results.samples:
        sizes.setdefault((sample.variant, sample.n), set()).add(sample.facts.bytes)
    return [f"{v} N={n} ({', '.join(f'{b:,}' for b in sorted(found))} bytes)" for (v, n), found in sizes.items() if len(found) > 1]


def code_version() -> str:
    """The commit measured, and whether the library or handler had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "constructs", "lambda"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {head}" + (f", with uncommitted changes to {len(dirty)} file(s) in constructs/ and lambda/" if dirty else "")


def cells(results: Results) -> dict[tuple[str, int], Cell]:
    floor = statistics.median(s.seconds for s in results.of(FLOOR, 1))
    floor_cpu = statistics.median(s.cpu_seconds for s in results.of(FLOOR, 1))
    table = {}
    for n in NS:
        for variant in (FLOOR, *TIMED_VARIANTS):
            samples = results.of(variant, n)
            if not samples:
                continue
            seconds = [s.seconds for s in samples]
            median = statistics.median(seconds)
            table[(variant, n)] = Cell(
                variant=variant,
                n=n,
                runs=len(samples),
                seconds=median,
                low=min(seconds),
                high=max(seconds),
                above_floor=median - floor,
                cpu_seconds=statistics.median(s.cpu_seconds for s in samples),
                cpu_above_floor=statistics.median(s.cpu_seconds for s in samples) - floor_cpu,
                peak_mib=statistics.median(s.peak_mib for s in samples),
                facts=samples[-1].facts,  # templates are deterministic: every sample is the same
                phases={
                    name: statistics.median(s.startup_and_exit if name == STARTUP else s.phases.get(name, 0.0) for s in samples)
                    for name in PHASES
                },
                calls=samples[-1].calls,
            )
    return table


STARTUP = "start-up and exit"
PHASES = (STARTUP, "import aws_cdk", "import library", "construct", "synth")


def per_job(table: dict[tuple[str, int], Cell], variant: str, value: Any) -> float:
    """What each job beyond the first adds to a value of the cells, from N = 1 to the largest N."""
    top = max(n for v, n in table if v == variant)
    return (value(table[(variant, top)]) - value(table[(variant, 1)])) / (top - 1)


def marginal_bytes(table: dict[tuple[str, int], Cell], variant: str, n: int) -> float:
    """Template bytes each job beyond the first adds."""
    return (table[(variant, n)].facts.bytes - table[(variant, 1)].facts.bytes) / (n - 1)


def capacity(table: dict[tuple[str, int], Cell], variant: str) -> dict[str, float]:
    """Jobs until each limit, by linear extrapolation from N = 1 and the largest N (inf: does not grow)."""

    def jobs(value: Any, limit: float) -> float:
        slope = per_job(table, variant, value)
        if slope <= 0:
            return float("inf")
        fixed = value(table[(variant, 1)]) - slope
        return max(0.0, (limit - fixed) // slope)

    # A role's inline policies reach the limit when what CDK cannot split grows (its DefaultPolicy
    # stays within the limit: CDK moves the excess into managed policies).
    top = max(n for v, n in table if v == variant)
    first, last = table[(variant, 1)].facts.roles, table[(variant, top)].facts.roles
    inline = float("inf")
    for role in first.keys() & last.keys():
        slope = (last[role].fixed_inline_chars - first[role].fixed_inline_chars) / (top - 1)
        if slope > 0:
            inline = min(inline, max(0.0, top + (MAX_ROLE_INLINE_POLICY_CHARS - last[role].inline_chars) // slope))
    return {
        "resources": jobs(lambda c: c.facts.resources, MAX_RESOURCES),
        "bytes": jobs(lambda c: c.facts.bytes, MAX_TEMPLATE_BYTES),
        "inline": inline,
        "managed": jobs(lambda c: c.facts.most_managed, MAX_MANAGED_POLICIES_PER_ROLE),
    }


def jobs_text(value: float) -> str:
    return "no limit" if value == float("inf") else f"{value:,.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 and a >= 0 else "n/a"


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    node = subprocess.run(["node", "--version"], check=False, env=child_env(), capture_output=True, text=True).stdout.strip()
    versions = {name: importlib.metadata.version(name) for name in ("aws-cdk-lib", "constructs", "jsii", "boto3", "botocore")}
    return {
        "CPU": f"{model}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        "RAM": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Node": node,
        **versions,
    }


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def render(results: Results, info: dict[str, str], date: str) -> str:
    table = cells(results)
    floor = table[(FLOOR, 1)]
    out: list[str] = []
    w = out.append
    w("# Benchmarks")
    w("")
    w("Written by `make bench` (`.venv/bin/python scripts/bench.py`); do not edit by hand. It synthesizes,")
    w("side by side in one run, an empty stack (the floor), N evaluation jobs with `EvaluationJob`, and N")
    w("equivalent jobs written with `AwsCustomResource` (what a careful user writes without this library),")
    w("and reports synth time, memory, template size and the handler's import time and asset size.")
    w("")
    w("## Machine and versions")
    w("")
    w(f"- Date (UTC): {date}")
    w(f"- Command: `make bench` (runtime of `scripts/bench.py`: {results.seconds:.0f} s)")
    w(f"- Code measured: {results.code}")
    for key, value in info.items():
        w(f"- {key}: {value}")
    w(f"- Load average (1, 5, 15 min) at start: {results.load[0]}; at end: {results.load[1]}. The machine is shared:")
    w("  other work running at the same time slows every variant alike, which interleaving spreads evenly.")
    w("")
    w("## What each variant is")
    w("")
    w(f"Every job is an automatic model evaluation on `{bench_app.DATASET}` ({bench_app.TASK_TYPE}); job *i* uses")
    w(f"one of {len(bench_app.MODELS)} Bedrock models and one of the {len(bench_app.METRIC_SETS)} non-empty sets of the automatic metrics,")
    w("so every request differs. The stack is env-agnostic and synthesized with this project's `cdk.json` feature")
    w("flags, as `cdk synth` would, including `@aws-cdk/core:validateAgainstDefaultRules` (CDK validates the")
    w("template at synth). CDK's own 500-resource check is turned off so that an over-limit template can still")
    w("be measured; the limits are checked below on the template, and the table notes where CDK's validation")
    w("refused the template (`cdk synth` would fail there).")
    w("")
    w(f"- **{LABELS[FLOOR]}**: one `AWS::CloudFormation::WaitConditionHandle` (CloudFormation and CDK's validation")
    w("  reject a template without resources): the interpreter, `import aws_cdk`, jsii's Node start-up and a synth.")
    w(f"- **{LABELS['ours']}** (`ours`): `EvaluationJob(model=..., tasks=[...])` with its defaults: each job creates")
    w("  its service role; one provider (handler functions and the Provider framework) and one bucket per stack.")
    w(f"- **{LABELS['ours-shared']}** (`ours-shared`): the same, with one `EvaluationServiceRole` passed as `role=`.")
    w(f"- **{LABELS['acr']}** (`acr`): per job, `AwsCustomResource` calling `bedrock:createEvaluationJob` with the")
    w("  same request (a fixed `jobName`, physical id from the response's `jobArn`, `stopEvaluationJob` on delete),")
    w("  its own service role (trusts bedrock.amazonaws.com, `bedrock:InvokeModel` on its model, read/write on its")
    w("  prefix of one shared results bucket), a policy from `AwsCustomResourcePolicy.from_statements`")
    w("  (`bedrock:CreateEvaluationJob`/`StopEvaluationJob` on evaluation jobs and its model, `iam:PassRole` on its")
    w("  role) and a dependency on its role. The bucket has the same settings as ours.")
    w(f"- **{LABELS[TEMPLATE]}** (`{TEMPLATE}`): the template `ours` wrote for N jobs (synthesized before the timed")
    w("  rounds), put in the stack by one `CfnInclude` (`cloudformation_include`): no library code runs and no asset is")
    w("  built, so it is the least any CDK app pays to synthesize that template: Node reads it, writes it and validates")
    w("  it, and the jsii runtime exits with a heap that size. What `ours` costs above it is what the library does.")
    w("")
    w("## How it is measured")
    w("")
    w("- Each synth is `scripts/bench_app.py <variant> <N> <outdir>` in a fresh process. **Wall time** is measured")
    w("  by the parent from start to exit. **CPU time** is user + system time of the process and the descendants it")
    w("  waited for (the jsii Node processes), from `wait4`: less sensitive than wall time to other work on the")
    w("  machine, shown to corroborate it. **Peak memory** is the largest sum of the resident set sizes of the")
    w("  process and all its descendants (Python, and the two Node processes of the jsii runtime), sampled from")
    w("  `/proc/<pid>/statm` every 25 ms. `/usr/bin/time -v` and `ru_maxrss` are not used: they report the largest")
    w("  single process, not Python and Node together. Pages shared by the two Node processes are counted twice")
    w("  (the same for every variant); a peak shorter than 25 ms can be missed.")
    w(f"- Rounds interleave the variants: each round runs the floor, then at each N the {len(TIMED_VARIANTS)} other variants, in an")
    planned = ", ".join(f"{r} at N = {n}" for n, r in REPETITIONS.items())
    w(f"  order rotated every round. Rounds planned: {planned} (the floor runs in every round); figures are")
    w("  medians. One uncounted synth of each variant runs first. **Above floor** = median − the floor's median.")
    w("- Every synth reads compiled Python modules (`PYTHONPYCACHEPREFIX`, a cache the uncounted synths write), as")
    w("  from an installed package: pip compiles a wheel's modules when it installs it.")
    if results.skipped:
        w(f"- The time budget dropped these synths (runs columns show what ran): {', '.join(results.skipped)}.")
    changed = drift(results)
    if changed:
        w("- **Warning**: the same variant and N gave different templates in different rounds, so the code changed")
        w(f"  while the bench ran and the medians mix versions (template figures are from the last round): {'; '.join(changed)}.")
    w("- **Template bytes** are the file `cdk synth` writes (what is uploaded). **Bytes/job** = bytes ÷ N;")
    w("  **marginal bytes/job** = what each job beyond the first adds: (bytes(N) − bytes(1)) ÷ (N − 1).")
    w("- **IAM policy sizes** are characters of the deployed policy JSON without whitespace (as IAM counts them),")
    w(f"  with ARNs resolved for account {ACCOUNT} in {REGION} and generated names as long as CloudFormation makes")
    w("  them (`<stack>-<logical id>-<12 characters>`, cut to the name limit). A role's inline policies together may")
    w(f"  hold {MAX_ROLE_INLINE_POLICY_CHARS:,} characters. The **handler role** is the role of the function that calls Bedrock:")
    w("  ours, the `OnEvent`/`IsComplete` role; theirs, the `AwsCustomResource` singleton function's role, to which")
    w("  every job's `AwsCustomResourcePolicy` is attached.")
    w(f"- CloudFormation limits: {MAX_RESOURCES} resources and {MAX_TEMPLATE_BYTES:,} bytes per template (S3-uploaded body).")
    w("")

    w("## Synth time and memory (medians)")
    w("")
    w("| N | variant | runs | wall s | min–max s | above floor s | CPU s | CPU above floor s | peak RSS MiB |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    w(
        f"| – | {FLOOR} | {floor.runs} | {floor.seconds:.2f} | {floor.low:.2f}–{floor.high:.2f} | 0.00 | "
        f"{floor.cpu_seconds:.2f} | 0.00 | {floor.peak_mib:.0f} |"
    )
    for n in NS:
        for variant in TIMED_VARIANTS:
            c = table.get((variant, n))
            if c:
                w(
                    f"| {n} | {variant} | {c.runs} | {c.seconds:.2f} | {c.low:.2f}–{c.high:.2f} | {c.above_floor:.2f} | "
                    f"{c.cpu_seconds:.2f} | {c.cpu_above_floor:.2f} | {c.peak_mib:.0f} |"
                )
    w("")
    w("### Where the time goes (medians, seconds)")
    w("")
    w("Timed inside the runner: importing `aws_cdk` (which starts the jsii runtime), importing the variant's")
    w("library (ours: `bedrock_evaluation`; theirs: `aws_iam`, `aws_s3`, `custom_resources`), building the")
    w("constructs, and `app.synth()` (Node: the template, the assets, CDK's validation); start-up and exit is the")
    w("rest of the wall time (the interpreter, stopping the jsii runtime). A jsii round trip is one message from")
    w("Python to the jsii runtime in Node and its answer: every construct created, method called or property read.")
    w("")
    w("| N | variant | " + " | ".join(PHASES) + " | jsii round trips: construct | synth |")
    w("|---:|---|" + "---:|" * (len(PHASES) + 2))
    rows = [(FLOOR, 1)] + [(v, n) for n in NS for v in TIMED_VARIANTS]
    for variant, n in rows:
        c = table.get((variant, n))
        if c:
            label = "–" if variant == FLOOR else str(n)
            w(f"| {label} | {variant} | " + " | ".join(f"{c.phases[p]:.2f}" for p in PHASES) + f" | {c.calls.get('construct', 0):,} | {c.calls.get('synth', 0):,} |")
    w("")
    w("Per job (from N = 1 to the largest N):")
    w("")
    for variant in JOB_VARIANTS:
        seconds = per_job(table, variant, lambda c: c.phases["construct"])
        trips = per_job(table, variant, lambda c: c.calls.get("construct", 0))
        synth = per_job(table, variant, lambda c: c.phases["synth"])
        cost = f"; {seconds / trips * 1000:.2f} ms of construct time per round trip" if trips > 0 else ""
        w(f"- `{variant}`: construct {seconds * 1000:.0f} ms, {trips:.0f} jsii round trips{cost}; synth {synth * 1000:.0f} ms.")
    if results.per_job_sites:
        w("")
        w(f"jsii round trips each job adds, by the line that makes them (traced, untimed runs at N = 1 and N = {TRACE_N + 1}):")
        w("")
        w("| variant | line | round trips per job |")
        w("|---|---|---:|")
        for variant, sites in results.per_job_sites.items():
            ranked = sorted(sites.items(), key=lambda item: -item[1])
            for site, count in ranked[:TOP_SITES]:
                w(f"| {variant} | `{site[:110]}` | {count:.1f} |")
            rest = sum(count for _, count in ranked[TOP_SITES:])
            if rest:
                w(f"| {variant} | {len(ranked) - TOP_SITES} other lines | {rest:.1f} |")
            w(f"| {variant} | **total** | **{sum(sites.values()):.1f}** |")
    w("")
    w("## Template")
    w("")
    w("| N | variant | bytes | bytes/job | marginal bytes/job | resources | Lambda functions | largest policy doc | handler role inline | largest role inline (role) | CFN limits | IAM role limit | CDK synth |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|")
    f = floor.facts
    w(f"| – | {FLOOR} | {f.bytes:,} | – | – | {f.resources} | {f.lambdas} | {f.largest_policy_chars:,} | – | – | ok | ok | ok |")
    for n in NS:
        for variant in JOB_VARIANTS:
            c = table.get((variant, n))
            if not c:
                continue
            f = c.facts
            role, role_chars = f.largest_role
            marginal = f"{marginal_bytes(table, variant, n):,.0f}" if n > 1 else "–"
            cfn_state = "ok" if f.cfn_ok else "**over**"
            iam = "ok" if f.iam_ok else "**over**"
            cdk = "ok" if not f.refused else "**refused**: " + "; ".join(f.refused)
            w(
                f"| {n} | {variant} | {f.bytes:,} | {c.bytes_per_job:,.0f} | {marginal} | {f.resources} | {f.lambdas} | "
                f"{f.largest_policy_chars:,} | {f.handler_role_chars:,} | {role_chars:,} (`{role}`) | {cfn_state} | {iam} | {cdk} |"
            )
    w("")
    w(f"The handler role's inline policies against IAM's {MAX_ROLE_INLINE_POLICY_CHARS:,}-character limit per role:")
    w("")
    for variant in JOB_VARIANTS:
        sizes = [(n, table[(variant, n)].facts.handler_role_chars) for n in NS if (variant, n) in table]
        over = [n for n, chars in sizes if chars > MAX_ROLE_INLINE_POLICY_CHARS]
        state = f"over the limit at N = {', '.join(map(str, over))}" if over else "within the limit at every N measured"
        w(f"- `{variant}`: {', '.join(f'{chars:,} (N = {n})' for n, chars in sizes)}: {state}.")
    w("")
    w("### Template bytes each job adds, by resource type")
    w("")
    w("From N = 1 to the largest N; a resource's bytes are its text in the template as CDK writes it.")
    w("")
    w("| variant | resource type | bytes per job |")
    w("|---|---|---:|")
    for variant in JOB_VARIANTS:
        top = max(n for v, n in table if v == variant)
        first, last = table[(variant, 1)].facts.bytes_by_type, table[(variant, top)].facts.bytes_by_type
        growth = {t: (last.get(t, 0) - first.get(t, 0)) / (top - 1) for t in first.keys() | last.keys()}
        for kind, grew in sorted(growth.items(), key=lambda item: -item[1]):
            if abs(grew) >= 1:
                w(f"| {variant} | `{kind}` | {grew:,.0f} |")
        w(f"| {variant} | **total** | **{sum(growth.values()):,.0f}** |")
    w("")
    w("### Capacity of one stack")
    w("")
    w("Jobs until each limit is reached, extrapolated linearly from N = 1 and the largest N measured (what each")
    w("job adds to the fixed part). CDK moves what does not fit a role's inline policy into customer managed")
    w(f"policies (`OverflowPolicy`), at most {MAX_MANAGED_POLICIES_PER_ROLE} per role by default; separate `AWS::IAM::Policy`")
    w("resources, like each `AwsCustomResource`'s, all count toward the role's inline limit.")
    w("")
    w(f"| variant | {MAX_RESOURCES} resources | {MAX_TEMPLATE_BYTES:,} bytes | {MAX_ROLE_INLINE_POLICY_CHARS:,} inline policy characters on a role | {MAX_MANAGED_POLICIES_PER_ROLE} managed policies on a role | jobs per stack |")
    w("|---|---:|---:|---:|---:|---:|")
    for variant in JOB_VARIANTS:
        limits = capacity(table, variant)
        least = min(limits.values())
        w(f"| {variant} | " + " | ".join(jobs_text(v) for v in limits.values()) + f" | **{jobs_text(least)}** |")
    w("")
    w("## Ratios, ours ÷ AwsCustomResource")
    w("")
    w("| N | variant | time above floor | CPU above floor | bytes/job | marginal bytes/job | resources | Lambda functions | peak RSS |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in NS:
        theirs = table.get(("acr", n))
        for variant in ("ours", "ours-shared"):
            ours = table.get((variant, n))
            if not ours or not theirs:
                continue
            marginal = ratio(marginal_bytes(table, variant, n), marginal_bytes(table, "acr", n)) if n > 1 else "–"
            w(
                f"| {n} | {variant} | {ratio(ours.above_floor, theirs.above_floor)} | {ratio(ours.cpu_above_floor, theirs.cpu_above_floor)} | "
                f"{ratio(ours.bytes_per_job, theirs.bytes_per_job)} | "
                f"{marginal} | {ratio(ours.facts.resources, theirs.facts.resources)} | {ratio(ours.facts.lambdas, theirs.facts.lambdas)} | "
                f"{ratio(ours.peak_mib, theirs.peak_mib)} |"
            )
    w("")
    w("## Per job")
    w("")
    w("What each job beyond the first adds, from N = 1 to the largest N measured (medians; round trips from the counted runs),")
    w("and the jobs one stack holds under CloudFormation's and IAM's limits (\"Capacity of one stack\").")
    w("")
    w("| variant | jsii round trips: construct | synth | total | construct ms | synth ms | marginal bytes | resources | jobs per stack |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for variant in JOB_VARIANTS:
        job = job_costs(table, variant)
        w(
            f"| {variant} | {job['construct calls']:.1f} | {job['synth calls']:.1f} | {job['calls']:.1f} | {job['construct ms']:.1f} | "
            f"{job['synth ms']:.1f} | {job['bytes']:,.0f} | {job['resources']:.2f} | {jobs_text(job['jobs per stack'])} |"
        )
    w("")
    boto3_ms = statement_ms(results.imports["import boto3"])
    index_ms = statement_ms(results.imports["import index"])
    boto3_cpu = statement_ms(results.import_cpu["import boto3"])
    index_cpu = statement_ms(results.import_cpu["import index"])
    w("## The handler")
    w("")
    cached = "a `__pycache__` is there, so Python used it: faster than a Lambda cold start" if results.handler_pycache else (
        "there is no `__pycache__` there, so like Lambda (the asset carries no `.pyc`) it compiles the handler's modules from source"
    )
    w("Import time in fresh processes (`python -B -c ...`, wall and CPU time taken inside the process around the")
    w(f"import statement), {IMPORT_RUNS} runs each, alternating which goes first. `import index` runs with")
    w(f"the handler asset (as the construct builds it) first on `sys.path`; {cached}. boto3 comes from the venv, with its bytecode.")
    w("")
    w("| import | median ms | min ms | max ms | median CPU ms |")
    w("|---|---:|---:|---:|---:|")
    for statement, times in results.imports.items():
        w(
            f"| `{statement}` | {statement_ms(times):.0f} | {min(times) * 1000:.0f} | {max(times) * 1000:.0f} | "
            f"{statement_ms(results.import_cpu[statement]):.0f} |"
        )
    w(f"| ratio index ÷ boto3 | {index_ms / boto3_ms:.2f} | | | {index_cpu / boto3_cpu:.2f} |")
    w("")
    a = results.asset
    w(f"Lambda asset (the directory CDK built that holds `lifecycle.py`): {a['files']} files, {a['unzipped']:,} bytes")
    w(f"unzipped ({a['python']:,} bytes of Python), {a['zipped']:,} bytes zipped (deflate); largest file `{a['biggest'][0]}`,")
    w(f"{a['biggest'][1]:,} bytes (the bundled Bedrock service model). Lambda's limits are 50 MB zipped, 250 MB unzipped.")
    w("")
    w("## Targets")
    w("")
    w(*targets(table, results, boto3_ms, index_ms, index_cpu / boto3_cpu))
    return "\n".join(out) + "\n"


def job_costs(table: dict[tuple[str, int], Cell], variant: str) -> dict[str, float]:
    """What each job adds (N = 1 to the largest N), and the jobs one stack holds."""
    top = max(n for v, n in table if v == variant)
    return {
        "construct calls": per_job(table, variant, lambda c: c.calls.get("construct", 0)),
        "synth calls": per_job(table, variant, lambda c: c.calls.get("synth", 0)),
        "calls": per_job(table, variant, lambda c: c.calls.get("construct", 0) + c.calls.get("synth", 0)),
        "construct ms": per_job(table, variant, lambda c: c.phases["construct"]) * 1000,
        "synth ms": per_job(table, variant, lambda c: c.phases["synth"]) * 1000,
        "bytes": marginal_bytes(table, variant, top),
        "resources": per_job(table, variant, lambda c: c.facts.resources),
        "jobs per stack": min(capacity(table, variant).values()),
    }


# The targets of the issue this bench answers: (ours ÷ AwsCustomResource) ratios, side by side in one run.
TIME_RATIO = 0.5
BYTES_RATIO = 0.5
JOBS_PER_STACK = {"ours": 240, "ours-shared": 450}
IMPORT_RATIO = 1.3
TIME_NS = (50, 150)


def targets(table: dict[tuple[str, int], Cell], results: Results, boto3_ms: float, index_ms: float, cpu_ratio: float) -> list[str]:
    lines: list[str] = []
    w = lines.append
    top = max(NS)
    ours_variants = ("ours", "ours-shared")

    # 1. time above the floor, at N = 50 and the largest N
    at = [n for n in TIME_NS if all((v, n) in table for v in JOB_VARIANTS)]
    ratios = {(v, n): table[(v, n)].above_floor / table[("acr", n)].above_floor for v in ours_variants for n in at}
    cpu = {(v, n): table[(v, n)].cpu_above_floor / table[("acr", n)].cpu_above_floor for v in ours_variants for n in at}
    met = bool(ratios) and all(r <= TIME_RATIO for r in ratios.values())
    w(f"1. Synth time above the floor ≤ {TIME_RATIO} × AwsCustomResource's (a role per job and a shared role, N = "
      f"{' and '.join(map(str, at))}): {verdict(met)}.")
    for n in at:
        theirs = table[("acr", n)]
        shown = "; ".join(
            f"`{v}` {table[(v, n)].above_floor:.2f} s, ratio {ratios[(v, n)]:.2f} (CPU {cpu[(v, n)]:.2f})" for v in ours_variants
        )
        w(f"   - N = {n}: AwsCustomResource {theirs.above_floor:.2f} s above the floor; {shown}.")
    for n in at:
        if (TEMPLATE, n) in table:
            least = table[(TEMPLATE, n)].above_floor
            allowed = TIME_RATIO * table[("acr", n)].above_floor
            w(f"   - N = {n}, the least: `{TEMPLATE}` (the template of `ours`, no library code) is {least:.2f} s above the floor, "
              f"ratio {least / table[('acr', n)].above_floor:.2f}: the target leaves the library {allowed - least:.2f} s for everything it "
              f"does for {n} jobs (`ours` takes {table[('ours', n)].above_floor - least:.2f} s above its own template).")
    if not met and TARGET_N in at:
        w(why_slower(table, results))
    # 2. jsii round trips per job
    trips = {v: job_costs(table, v)["calls"] for v in JOB_VARIANTS}
    met = all(trips[v] <= trips["acr"] for v in ours_variants)
    w(f"2. jsii round trips per job ≤ AwsCustomResource's: {verdict(met)}. Construct and synth, per job from N = 1 to {top}: "
      f"`ours` {trips['ours']:.1f}, `ours-shared` {trips['ours-shared']:.1f}, AwsCustomResource {trips['acr']:.1f}.")
    # 3. marginal bytes per job, a role per job
    mine, others = marginal_bytes(table, "ours", top), marginal_bytes(table, "acr", top)
    met = mine <= BYTES_RATIO * others
    w(f"3. Marginal template bytes per job ≤ {BYTES_RATIO} × AwsCustomResource's, a role per job: {verdict(met)}. Each job adds "
      f"{mine:,.0f} bytes to `ours` ({marginal_bytes(table, 'ours-shared', top):,.0f} to `ours-shared`) against {others:,.0f} "
      f"(N = 1 → {top}): ratio {ratio(mine, others)}.")
    least = (table[("ours", top)].facts.least_bytes - table[("ours", 1)].facts.least_bytes) / (top - 1)
    w(f"   The least: cut to what a job needs ({', '.join(JOB_NEEDS)} of the job; {', '.join(ROLE_NEEDS)} of its role: "
      f"the trust policy with its two conditions and the least-privilege statements), each job adds {least:,.0f} bytes: ratio "
      f"{ratio(least, others)} to AwsCustomResource's as written.")
    # 4. jobs per stack
    held = {v: job_costs(table, v)["jobs per stack"] for v in ours_variants}
    checked = {v: limit_problems(results.at_capacity_target[v][1]) for v in ours_variants if v in results.at_capacity_target}
    # Met when the template of each target's size was written and deploys within every limit.
    met = len(checked) == len(ours_variants) and not any(checked.values())
    w(f"4. Jobs in one stack under CloudFormation's and IAM's limits, at least {JOBS_PER_STACK['ours']} with a role per job and "
      f"{JOBS_PER_STACK['ours-shared']} with a shared role: {verdict(met)}. Extrapolated: `ours` {jobs_text(held['ours'])}, `ours-shared` "
      f"{jobs_text(held['ours-shared'])} (AwsCustomResource {jobs_text(job_costs(table, 'acr')['jobs per stack'])}).")
    for v in ours_variants:
        if v in results.at_capacity_target:
            n, f = results.at_capacity_target[v]
            role, chars = f.largest_role
            w(f"   - Synthesized with {n} jobs, `{v}`: {f.resources} resources, {f.bytes:,} bytes, at most {chars:,} inline policy "
              f"characters and {f.most_managed} managed policies on a role: {'; '.join(checked[v]) or 'fits'}.")
    w(f"   At N = {top}: {fit_verdict(table, top)}")
    # 5. handler import
    met = index_ms <= IMPORT_RATIO * boto3_ms
    w(f"5. Handler import ≤ {IMPORT_RATIO} × `import boto3`: {verdict(met)}. `import index` {index_ms:.0f} ms against `import boto3`")
    w(f"   {boto3_ms:.0f} ms: {index_ms / boto3_ms:.2f} × (CPU time: {cpu_ratio:.2f} ×). The handler imports boto3 itself, so the")
    w(f"   difference ({index_ms - boto3_ms:.0f} ms) is its own modules and the standard library they add.")
    if not met:
        w("   Why: build the asset (`bedrock_evaluation.handler_asset.build_asset`) and run `python -X importtime -c 'import index'` in it.")
    return ["\n".join(lines)]


def why_slower(table: dict[tuple[str, int], Cell], results: Results) -> str:
    """Where our extra synth time goes, from the measurements: phases, then jsii round trips."""
    n = TARGET_N
    ours, theirs = table[("ours", n)], table[("acr", n)]
    diffs = ", ".join(f"{phase} {ours.phases[phase] - theirs.phases[phase]:+.2f} s" for phase in PHASES)
    lines = [f"   Why, phase by phase at N = {n} (ours − theirs, medians): {diffs}."]
    per = {}
    for variant in ("ours", "acr"):
        per[variant] = (
            per_job(table, variant, lambda c: c.phases["construct"]) * 1000,
            per_job(table, variant, lambda c: c.calls.get("construct", 0)),
        )
    synth_trips = {v: per_job(table, v, lambda c: c.calls.get("synth", 0)) for v in ("ours", "acr")}
    synth_ms = {v: per_job(table, v, lambda c: c.phases["synth"]) * 1000 for v in ("ours", "acr")}
    lines.append(
        f"   Building the constructs costs ours {per['ours'][0]:.0f} ms and {per['ours'][1]:.0f} jsii round trips per job, "
        f"theirs {per['acr'][0]:.0f} ms and {per['acr'][1]:.0f};"
    )
    lines.append(
        f"   synthesizing costs ours {synth_ms['ours']:.0f} ms and {synth_trips['ours']:.0f} round trips per job (the stack's aspects, which"
        f" Node calls once per stack: each job role's policy and acknowledgements written in), theirs {synth_ms['acr']:.0f} ms and {synth_trips['acr']:.0f};"
    )
    lines.append(
        f"   ours also pays once {ours.phases['import library'] - theirs.phases['import library']:.2f} s more for importing its library "
        f"and {table[('ours', 1)].phases['construct'] - table[('acr', 1)].phases['construct']:.2f} s more for its first job"
        " (the provider, its functions and the handler asset)."
    )
    sites = results.per_job_sites.get("ours", {})
    if sites:
        total = sum(sites.values())
        top = sorted(sites.items(), key=lambda item: -item[1])[:3]
        named = "; ".join(f"`{site[:90]}` {count:.0f}" for site, count in top)
        lines.append(f"   Ours' most frequent per-job round trips ({total:.0f} in all, construct and synth, traced): {named}.")
        checks = sum(count for site, count in sites.items() if "Token.is_unresolved" in site)
        if checks:
            lines.append(
                f"   `Token.is_unresolved` calls alone make {checks:.0f} of them ({checks / total:.0%}): each asks Node whether"
                " a plain Python value of the request is a token."
            )
    return "\n".join(lines)


def limit_problems(f: TemplateFacts) -> list[str]:
    """Why a template would not deploy: CloudFormation's limits, CDK's validation, IAM's limits."""
    found = []
    if f.resources > MAX_RESOURCES:
        found.append(f"{f.resources} resources > {MAX_RESOURCES}")
    if f.bytes > MAX_TEMPLATE_BYTES:
        found.append(f"{f.bytes:,} bytes > {MAX_TEMPLATE_BYTES:,}")
    if f.refused:
        found.append("CDK's synth-time validation refuses it (`cdk synth` fails)")
    found += [f"{problem} (IAM rejects it at deploy)" for problem in f.iam_problems()]
    return found


def fit_verdict(table: dict[tuple[str, int], Cell], n: int) -> str:
    def problems(variant: str) -> list[str]:
        return limit_problems(table[(variant, n)].facts)

    def describe(variant: str) -> str:
        f = table[(variant, n)].facts
        role, chars = f.largest_role
        found = problems(variant)
        state = "fits" if not found else "does not fit: " + "; ".join(found)
        return (
            f"`{variant}`: {f.resources} resources, {f.bytes:,} bytes, at most {chars:,} inline policy characters and "
            f"{f.most_managed} managed {'policy' if f.most_managed == 1 else 'policies'} on a role; "
            f"about {jobs_text(min(capacity(table, variant).values()))} jobs per stack: {state}"
        )

    fitting = [v for v in ("ours", "ours-shared") if not problems(v)]
    head = verdict(bool(fitting)) + (f" with {' and '.join(f'`{v}`' for v in fitting)}." if fitting else ".")
    return "\n".join([head] + [f"   - {describe(v)}" for v in JOB_VARIANTS])


def make_seconds() -> float:
    """How long the `make` that runs us has been running (set-up on a fresh clone counts against
    the budget); 0 when not run by make."""
    try:
        pid = os.getppid()
        for _ in range(3):  # make, or make -> bash -c
            stat = Path(f"/proc/{pid}/stat").read_text()
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
            if name in ("make", "gmake"):
                uptime = float(Path("/proc/uptime").read_text().split()[0])
                return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
            pid = int(fields[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=float(os.environ.get("BENCH_BUDGET_SECONDS", DEFAULT_BUDGET_SECONDS)),
        help="start no round that would end later than this, counted from the start of `make bench` "
        "when make runs it (the first round always runs)",
    )
    args = parser.parse_args(argv)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    info = machine()
    spent = make_seconds()
    if spent:
        log(f"bench: make has run {spent:.0f} s already (set-up); it counts against the budget")
    results = measure(args.budget_seconds - spent)
    report = render(results, info, date)
    args.output.write_text(report)
    print(report)
    log(f"bench: wrote {args.output} in {results.seconds:.0f} s")
    for line in report.split("## Targets", 1)[-1].splitlines():
        if re.match(r"\d\. ", line):
            log(f"bench: target {line.split(':')[0][3:]}: {'met' if '**met**' in line else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
