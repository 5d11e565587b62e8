"""Build a big store fast, and time searches over it.

Going through SMTP would take minutes for 100,000 messages, so the store is
filled with ``Store.add`` in large batches. The summaries are still real:
``core.mime.summary.summarize`` runs once per template message (plain text, HTML
newsletter, invoice with a PDF, a password reset, a 100 KB multipart), and
each stored copy gets its own subject, sender, recipient and date (the raw
bytes are re-rendered with the same values, so opening a row shows what the
list shows). Senders and subject words repeat with known frequencies, so a
search returns a realistic slice instead of everything or nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .messages import raw_message
from .stats import summarize_ms

SENDERS = 50
SUBJECT_WORDS = (
    "invoice",
    "welcome",
    "reset",
    "shipment",
    "newsletter",
    "report",
    "meeting",
    "receipt",
    "alert",
    "reminder",
)

# (name, weight): how often each template occurs in the store.
_TEMPLATE_WEIGHTS = (("plain", 50), ("html", 25), ("invoice", 15), ("reset", 9), ("multipart", 1))

# Searches the list's search box would run, with the user's intent.
SEARCHES: tuple[tuple[str, str], ...] = (
    ("word", "invoice"),
    ("from:", "from:user7"),
    ("has:attachment", "has:attachment"),
)


def _template_raw(name: str) -> str:
    """A template message with ``%(subject)s``-style slots (``str %`` format)."""

    def head(ctype: str) -> str:
        return (
            "From: %(from_name)s <%(from_addr)s>\r\n"
            "To: %(to_addr)s\r\n"
            "Subject: %(subject)s\r\n"
            "Date: %(date)s\r\n"
            "Message-ID: <%(mid)s@scale.example>\r\n"
            "MIME-Version: 1.0\r\n" + ctype + "\r\n\r\n"
        )

    words = " ".join(SUBJECT_WORDS)
    if name == "plain":
        body = ("Hello,\r\n\r\nHere is the weekly update for your project. " * 30) + "\r\n"
        text = head("Content-Type: text/plain; charset=utf-8") + body
    elif name == "html":
        html = "<html><body><h1>Our newsletter</h1>" + (
            "<p>Spring sale: 20% off everything in the shop.</p>" * 60
        )
        text = head('Content-Type: text/html; charset="utf-8"') + html + "</body></html>\r\n"
    elif name == "invoice":
        pdf = base64.encodebytes(random.Random(3).randbytes(6000)).decode().replace("\n", "\r\n")
        text = (
            head('Content-Type: multipart/mixed; boundary="b1"')
            + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "Please find your invoice attached. Amount due: 42.00 EUR.\r\n"
            + "--b1\r\nContent-Type: application/pdf; name=invoice.pdf\r\n"
            + "Content-Disposition: attachment; filename=invoice.pdf\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
            + pdf
            + "--b1--\r\n"
        )
    elif name == "reset":
        text = head("Content-Type: text/plain; charset=utf-8") + (
            f"Someone asked to reset your password. Your code is 123456.\r\nRelated: {words}\r\n"
        )
    elif name == "multipart":
        raw = raw_message("multipart")
        split = raw.index(b"\r\n\r\n")
        ctype = [ln for ln in raw[:split].split(b"\r\n") if ln.startswith(b"Content-Type")][0]
        return head(ctype.decode()) + raw[split + 4 :].decode("ascii").replace("%", "%%")
    else:
        raise ValueError(name)
    return text.replace("%", "%%").replace("%%(", "%(")


def build_store(path: Path, count: int, *, batch: int = 5000, seed: int = 1) -> dict[str, Any]:
    """Create (or extend) the store at ``path`` with ``count`` messages."""
    from mailcatcher_gui.core.mime.summary import summarize
    from mailcatcher_gui.core.models import Capture
    from mailcatcher_gui.core.store.database import Store

    rnd = random.Random(seed)
    names = [n for n, _ in _TEMPLATE_WEIGHTS]
    weights = [w for _, w in _TEMPLATE_WEIGHTS]
    templates = {n: _template_raw(n) for n in names}
    sample = {
        "from_name": "Sample",
        "from_addr": "sample@example.com",
        "to_addr": "bob@example.net",
        "subject": "sample",
        "date": "Tue, 04 Mar 2025 10:15:00 +0000",
        "mid": "sample",
    }
    # The expensive part (summarize) once per template; per message only the fields that vary.
    base_summary = {n: summarize((templates[n] % sample).encode()) for n in names}

    t0 = time.perf_counter()
    add_s = 0.0
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / max(count, 1)
    store = Store(path)
    try:
        done = 0
        while done < count:
            rows = []
            for i in range(done, min(count, done + batch)):
                name = rnd.choices(names, weights)[0]
                k = rnd.randrange(SENDERS)
                when = start + step * i
                values = {
                    "from_name": f"User {k}",
                    "from_addr": f"user{k}@example.com",
                    "to_addr": f"dev{i % 7}@example.net",
                    "subject": f"{rnd.choice(SUBJECT_WORDS)} {rnd.choice(SUBJECT_WORDS)} #{i}",
                    "date": when.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                    "mid": f"scale-{seed}-{i}",
                }
                raw = (templates[name] % values).encode()
                summary = dataclasses.replace(
                    base_summary[name],
                    from_=f"User {k} <user{k}@example.com>",
                    to=(values["to_addr"],),
                    subject=values["subject"],
                    date=when.replace(microsecond=0),
                    message_id=f"<{values['mid']}@scale.example>",
                )
                capture = Capture(
                    raw=raw,
                    envelope_from=values["from_addr"],
                    envelope_to=(values["to_addr"],),
                    received_at=when,
                    peer="127.0.0.1:40000",
                    helo="scale.example",
                )
                rows.append((capture, summary))
            t = time.perf_counter()
            store.add(rows)
            add_s += time.perf_counter() - t
            done += len(rows)
        total = store.count()
    finally:
        store.close()
    elapsed = time.perf_counter() - t0
    return {
        "count": count,
        "total_in_store": total,
        "build_s": round(elapsed, 2),
        "store_add_s": round(add_s, 2),
        "add_msgs_per_s": round(count / add_s, 1) if add_s else None,
        "db_bytes": sum(p.stat().st_size for p in path.parent.glob(path.name + "*")),
    }


def time_searches(path: Path, *, repeats: int = 20, limit: int = 100) -> dict[str, Any]:
    """What the list does per keystroke: the first window of rows plus the count.

    Returns per-query latency stats (ms) and how many rows each query matches.
    Run in a fresh process on a freshly opened store, like the GUI would.
    """
    from mailcatcher_gui.core.store.database import Store

    store = Store(path)
    out: dict[str, Any] = {}
    try:
        for label, query in SEARCHES:
            times: list[float] = []
            hits = 0
            for _ in range(repeats):
                t = time.perf_counter()
                rows = store.list(query=query, limit=limit)
                hits = store.count(query)
                times.append(time.perf_counter() - t)
                assert len(rows) == min(limit, hits), (query, len(rows), hits)
            out[label] = {"query": query, "matches": hits, **summarize_ms(times)}
    finally:
        store.close()
    return out


def run_searches(path: Path) -> dict[str, Any]:
    """``time_searches`` in a fresh process (cold interpreter, store opened anew)."""
    import json
    import subprocess
    import sys

    from .procs import REPO, child_env

    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", str(path), "--search-only"],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"search timing failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    ap.add_argument("db", type=Path)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--search-only", action="store_true")
    args = ap.parse_args()
    if not args.search_only:
        print(json.dumps(build_store(args.db, args.count)), flush=True)
    print(json.dumps(time_searches(args.db)))


if __name__ == "__main__":
    main()
