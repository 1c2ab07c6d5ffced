"""The files a ResumableStep produces (its `outputs` parameter): recorded with size and SHA-256 when the
step succeeds, kept where a later job can reach them, restored into a resumed job's workspace and checked
against their digests before any later step runs.

`parse_patterns` and `check` are pure; the rest reads and writes files. Paths in a manifest are relative
to the workspace, with "/" separators, and never leave it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil

from .records import record_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Optional, Sequence, Tuple

MANIFEST_VERSION = 1
KEEP_DIR = os.path.join(".ec-resume", "outputs")  # below the job's own workspace [U] kept with the job
CHUNK = 1 << 20


class BadOutputs(Exception):
    """The `outputs` parameter cannot be used; str() is the one line the user sees."""


@record_type
class FileRecord:
    path: str  # relative to the workspace, "/" separators
    size: int
    sha256: str

    def to_json(self) -> Dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@record_type
class Manifest:
    """What a successful step produced: where the copies are kept, and each file's size and digest."""

    job_id: str
    step: str  # the ResumableStep call's path in that job
    keep: str  # absolute directory holding the copies, by relative path
    files: Tuple[FileRecord, ...]

    def to_text(self) -> str:
        return json.dumps({"version": MANIFEST_VERSION, "jobId": self.job_id, "step": self.step,
                           "keep": self.keep, "files": [f.to_json() for f in self.files]},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> Manifest:
        """Raises ValueError for anything that is not a manifest this code wrote."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError("not an EC-Resume outputs record of version 1")
        files = tuple(FileRecord(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data["files"])
        for record in files:
            _relative(record.path, "a recorded path")
        return cls(str(data["jobId"]), str(data["step"]), str(data["keep"]), files)


def _relative(pattern: str, what: str) -> str:
    text = pattern.strip().replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or ".." in parts or not parts:
        raise BadOutputs(f"outputs: {what} '{pattern.strip()}' must be relative to the workspace and stay "
                         "inside it (no leading /, no ..), e.g. dist/*.tar.gz")
    return "/".join(parts)


def parse_patterns(text: Optional[str]) -> List[str]:
    """One path or glob pattern a line (``**`` for any depth); blank lines are ignored."""
    return [_relative(line, "pattern") for line in (text or "").splitlines() if line.strip()]


def match_files(workspace: str, patterns: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(relative paths of the files the patterns match, sorted; the patterns that matched nothing).

    A pattern naming a directory takes every file below it. Symbolic links are followed as files.
    """
    found = set()
    unmatched = []
    root = os.path.abspath(workspace)
    for pattern in patterns:
        hits = glob.glob(os.path.join(glob.escape(root), pattern), recursive=True)
        files = []
        for hit in hits:
            if os.path.isdir(hit):
                for folder, _dirs, names in os.walk(hit):
                    files += [os.path.join(folder, n) for n in names]
            elif os.path.isfile(hit):
                files.append(hit)
        inside = [f for f in files if os.path.abspath(f).startswith(root + os.sep)
                  and not os.path.relpath(f, root).replace(os.sep, "/").startswith(".ec-resume/")]
        if not inside:
            unmatched.append(pattern)
        found.update(os.path.relpath(f, root).replace(os.sep, "/") for f in inside)
    return sorted(found), unmatched


def digest(path: str) -> Tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return size, sha.hexdigest()
            size += len(chunk)
            sha.update(chunk)


def _copy(source: str, target: str) -> None:
    """Copy through a temporary file beside the target, then rename: never a half-written target."""
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    temporary = target + ".ec-resume-part"
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def keep_dir(workspace: str, shared: str, job_id: str, job_step_id: str) -> str:
    """Where a step's copies go: the shared directory setting, else the job's own workspace."""
    base = os.path.join(shared, job_id) if shared.strip() else os.path.join(workspace, KEEP_DIR)
    return os.path.abspath(os.path.join(base, job_step_id))


def record(workspace: str, files: Sequence[str], keep: str, job_id: str, step: str) -> Manifest:
    """Copy each file to `keep` and record its size and digest (taken from the kept copy, checked against
    the original, so the record describes what a restart will get)."""
    records = []
    for rel in files:
        source = os.path.join(workspace, *rel.split("/"))
        target = os.path.join(keep, *rel.split("/"))
        _copy(source, target)
        size, sha = digest(target)
        if (size, sha) != digest(source):
            raise OSError(f"{rel} changed while it was being kept")
        records.append(FileRecord(rel, size, sha))
    return Manifest(job_id, step, keep, tuple(records))


def check(expected: FileRecord, actual: Optional[Tuple[int, str]], where: str) -> str:
    """"" when the file is as recorded, else why not (one line)."""
    if actual is None:
        return f"{expected.path}: missing from {where}"
    size, sha = actual
    if (size, sha) != (expected.size, expected.sha256):
        return (f"{expected.path}: changed since it was recorded (sha256 {sha[:12]}…, {size} bytes; "
                f"recorded {expected.sha256[:12]}…, {expected.size} bytes)")
    return ""


def _digest_or_none(path: str) -> Optional[Tuple[int, str]]:
    try:
        return digest(path) if os.path.isfile(path) else None
    except OSError:
        return None


def restore(manifest: Manifest, workspace: str) -> List[str]:
    """Copy every recorded file into `workspace` and check it; the problems (empty when all is well).

    Each kept copy is checked before it is copied, and the restored file again after, so a file that
    changed in the store or on its way never passes.
    """
    problems = []
    for expected in manifest.files:
        source = os.path.join(manifest.keep, *expected.path.split("/"))
        problem = check(expected, _digest_or_none(source), manifest.keep)
        if problem:
            problems.append(problem)
            continue
        target = os.path.join(workspace, *expected.path.split("/"))
        try:
            _copy(source, target)
        except OSError as exc:
            problems.append(f"{expected.path}: could not be restored into the workspace: {exc.strerror}")
            continue
        problem = check(expected, _digest_or_none(target), "the workspace after restoring it")
        if problem:
            problems.append(problem)
    return problems
