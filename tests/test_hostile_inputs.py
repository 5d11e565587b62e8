"""Parser-level hostile input: parse_message and summarize never raise, stay
linear, and stay bounded in memory.

Timings are compared as ratios of CPU time (``time.process_time``) between
two sizes of the same input, never against absolute numbers, so a loaded CI
box does not make them flaky; the ratios allowed are far below what a
quadratic algorithm would need.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path

import pytest
from test_parsing import check_invariants

from mailcatcher_gui.core.mime.parse import parse_message
from mailcatcher_gui.core.mime.summary import HEADER_LIMIT, TEXT_LIMIT, summarize
from mailcatcher_gui.core.models import ParsedMessage, Summary


def both(raw) -> tuple[ParsedMessage, Summary]:
    pm = parse_message(raw)
    check_invariants(pm)
    s = summarize(raw)
    assert isinstance(s, Summary)
    assert s.attachments == len(pm.attachments)
    return pm, s


def cpu(fn, arg, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn(arg)
        best = min(best, time.process_time() - t)
    return max(best, 1e-3)


def nested_multipart(depth: int) -> bytes:
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"Subject: deep\r\nMIME-Version: 1.0\r\n" + head + b"\r\ndeepest text" + tail


def many_parts(n: int) -> bytes:
    parts = b"".join(
        b"--xx\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="f%d.bin"\r\n\r\npart %d\r\n' % (i, i)
        for i in range(n)
    )
    return (
        b"Subject: many\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n"
        + parts
        + b"--xx--\r\n"
    )


# ---------------------------------------------------------------------------
# structure


def test_1000_level_nested_multipart() -> None:
    pm, s = both(nested_multipart(1000))
    assert pm.text == "deepest text"
    assert len(pm.parts) == 1001
    assert max(p.depth for p in pm.parts) == 1000
    assert pm.parts[-1].part_id == ".".join(["1"] * 1000)
    assert pm.defects == ()
    assert s.snippet == "deepest text" and s.subject == "deep"


def test_python_email_recurses_per_level_but_we_do_not() -> None:
    # The reason for our own splitter: the stdlib parser nests a generator per
    # multipart level. At 1000 levels it may or may not survive, depending on
    # the interpreter's stack; ours has no recursion at all.
    import email
    import sys

    raw = nested_multipart(sys.getrecursionlimit() + 200)
    try:
        email.message_from_bytes(raw)
        stdlib = "ok"
    except RecursionError:
        stdlib = "RecursionError"
    pm, _s = both(raw)
    assert pm.text == "deepest text"
    print(f"\nstdlib email on {sys.getrecursionlimit() + 200} levels: {stdlib}")


def test_nesting_beyond_the_cap_is_cut_with_a_defect() -> None:
    pm, _s = both(nested_multipart(3000))
    assert len(pm.parts) < 3000
    assert any("nesting deeper than" in d for d in pm.defects)


def test_nesting_cost_is_linear_in_depth() -> None:
    small, big = (
        cpu(parse_message, nested_multipart(250)),
        cpu(parse_message, nested_multipart(1000)),
    )
    assert big < small * 12, (small, big)  # linear: 4x, quadratic: 16x


@pytest.mark.slow
def test_10000_parts_scale_linearly() -> None:
    pm, s = both(many_parts(10_000))
    assert len(pm.attachments) == 10_000 and s.attachments == 10_000
    assert pm.attachments[-1].filename == "f9999.bin" and pm.attachments[-1].data == b"part 9999"
    for fn in (parse_message, summarize):
        small, big = cpu(fn, many_parts(2_000)), cpu(fn, many_parts(10_000))
        print(f"\n{fn.__name__}: 2k parts {small * 1e3:.0f} ms, 10k parts {big * 1e3:.0f} ms")
        assert big < small * 12, (fn.__name__, small, big)  # linear: 5x, quadratic: 25x


def test_nested_embedded_messages() -> None:
    raw = b"Subject: inner\r\n\r\ninnermost body"
    for i in range(300):
        raw = b"Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n" % i + raw
    pm, s = both(raw)
    assert pm.text == "innermost body"
    assert pm.parts[-1].part_id == ".".join(["0"] * 301)
    assert s.subject == "level 299"


def test_base64_encoded_embedded_messages() -> None:
    import base64

    raw = b"Subject: inner\r\n\r\ninnermost body"
    for i in range(12):
        raw = (
            b"Subject: level %d\r\nContent-Type: message/rfc822\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" % i
        ) + base64.encodebytes(raw)
    pm, _s = both(raw)
    assert pm.text == "innermost body"
    assert len(pm.parts) == 13


def test_many_open_boundaries_and_many_dash_lines_stay_linear() -> None:
    def build(lines: int) -> bytes:
        raw = nested_multipart(20)
        return raw.replace(b"deepest text", b"--not-a-boundary\r\n" * lines)

    pm, _s = both(build(1000))
    assert pm.text is not None and pm.text.count("--not-a-boundary") == 1000
    small, big = cpu(parse_message, build(20_000)), cpu(parse_message, build(160_000))
    assert big < small * 24, (small, big)  # linear: 8x, quadratic: 64x


# ---------------------------------------------------------------------------
# size


@pytest.mark.slow
def test_25_mb_single_line() -> None:
    raw = b"Subject: one line\r\n\r\n" + b"x" * 25_000_000
    pm, s = both(raw)
    assert pm.text is not None and len(pm.text) == 25_000_000
    assert len(s.body_text) == TEXT_LIMIT and s.snippet == "x" * 200
    # No header/body separator, no newline at all.
    pm = parse_message(b"a" * 25_000_000)
    assert pm.text is not None and len(pm.text) == 25_000_000


@pytest.mark.slow
def test_25_mb_header_line_and_encoded_words() -> None:
    pm, s = both(b"X-Long: " + b"a" * 25_000_000 + b"\r\nSubject: ok\r\n\r\nbody")
    assert len(pm.headers[0].value) == 25_000_000 and s.subject == "ok"
    assert pm.text == "body"

    def words(n: int) -> bytes:
        return b"Subject: " + b"=?utf-8?q?a?= " * n + b"\r\n\r\nbody"

    pm, s = both(words(2_000_000))
    assert len(s.subject) <= HEADER_LIMIT and set(s.subject) == {"a"}
    assert pm.header("subject").startswith("a" * 1000)
    for fn in (parse_message, summarize):
        small, big = cpu(fn, words(200_000), 1), cpu(fn, words(2_000_000), 1)
        assert big < small * 30, (fn.__name__, small, big)  # linear: 10x


def test_many_header_lines_are_capped() -> None:
    raw = b"".join(b"X-H%d: v\r\n" % i for i in range(50_000)) + b"Subject: late\r\n\r\nbody"
    pm, _s = both(raw)
    assert len(pm.headers) == 20_000
    assert any("header lines; the rest skipped" in d for d in pm.defects)
    assert pm.text == "body"


def test_summary_memory_on_a_huge_text_body() -> None:
    raw = b"Subject: big\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + (
        b"hello =C3=A9 world=\r\n" * 1_000_000
    )
    tracemalloc.start()
    try:
        s = summarize(raw)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert s.body_text.startswith("hello é worldhello é")
    assert len(s.body_text) <= TEXT_LIMIT
    assert peak < 8_000_000, peak  # the 21 MB body is never decoded whole


# ---------------------------------------------------------------------------
# garbage


@pytest.mark.parametrize("seed", range(8))
def test_random_binary(seed: int) -> None:
    rnd = random.Random(seed)
    raw = rnd.randbytes(rnd.choice([1, 10, 1000, 100_000, 1_000_000]))
    pm, s = both(raw)
    assert s.subject == ""


@pytest.mark.parametrize("seed", range(4))
def test_random_mime_shaped_garbage(seed: int) -> None:
    rnd = random.Random(seed)
    pieces = [
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Disposition: attachment; filename*0*=utf-8''%E2%9C; filename*1=x\r\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"\r\n",
        b"=?utf-8?b?!!!?=\r\n",
        b"Subject: =?x-unknown?q?=FF?=\r\n",
        b"aGVsbG8=\r\n",
        b"\x00\xff\xfe",
        b" folded\r\n",
        b"From nobody Mon Jan  1 00:00:00 2024\r\n",
    ]
    for _ in range(50):
        raw = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 60)))
        both(raw)


def test_corpus_mutations(corpus: list[Path]) -> None:
    rnd = random.Random(1234)
    for path in corpus[::3]:
        data = path.read_bytes()
        for _ in range(3):
            b = bytearray(data)
            op = rnd.randrange(4)
            if op == 0 and b:  # truncate
                del b[rnd.randrange(len(b)) :]
            elif op == 1:  # flip bytes
                for _ in range(20):
                    if b:
                        b[rnd.randrange(len(b))] = rnd.randrange(256)
            elif op == 2 and b:  # duplicate a slice
                i = rnd.randrange(len(b))
                b[i:i] = b[i : i + rnd.randrange(1, 2000)]
            else:  # cut out a slice
                i = rnd.randrange(len(b) + 1)
                del b[i : i + rnd.randrange(1, 500)]
            both(bytes(b))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00",
        b"\x00" * 10_000,
        b"\r\n",
        b"\n\n\n",
        b"\r\r\r",
        b"Subject: only headers",
        b"Subject: only headers\r\nFrom: a@example.com\r\n",
        b":\r\n: :\r\n\r\n",
        b" continuation first\r\nSubject: x\r\n\r\nbody",
        b"Subject: nul\x00inside\r\n\r\nbody\x00body",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
        b'Content-Type: multipart/mixed; boundary=""\r\n\r\n----\r\n',
        b"Content-Type: text/plain; charset=\r\n\r\nx",
        b"Content-Type: text/plain; charset=base64\r\n\r\nx",
        b"Content-Type: text/plain; charset=zlib\r\n\r\nx\x9c",
        b"Content-Type: text/plain; charset=punycode\r\n\r\n" + b"a-" * 1000,
        b"Content-Type: /\r\n\r\nx",
        b"Content-Type: ;;;;\r\n\r\nx",
        b'Content-Type: text/plain; name="unterminated\r\n\r\nx',
        b"Content-Transfer-Encoding: base64\r\n\r\n====",
        b"Content-Transfer-Encoding: base64\r\n\r\nA",
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n\xff\xff\r\nend",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=",
        "Subject: str input \udcff\r\n\r\nbody",
        bytearray(b"Subject: bytearray\r\n\r\nbody"),
        memoryview(b"Subject: memoryview\r\n\r\nbody"),
    ],
)
def test_degenerate_messages(raw) -> None:
    pm, s = both(raw)
    if isinstance(raw, bytes | bytearray | memoryview) and bytes(raw).startswith(b"Subject: "):
        assert s.subject == pm.header("subject")


def test_rfc2047_and_rfc2231_filenames() -> None:
    def part(headers: bytes) -> bytes:
        return b"--b\r\n" + headers + b"\r\n\r\nx\r\n"

    cd = b"Content-Disposition: attachment; "
    raw = b"".join(
        [
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n",
            part(
                b'Content-Type: application/octet-stream; name="=?utf-8?B?0J/RgNC40LLQtdGC?=.txt"'
                b"\r\nContent-Disposition: attachment"
            ),
            part(cd + b'filename="=?x-unknown?q?caf=E9?=.txt"'),
            part(cd + b'filename="=?utf-8?b?!!!notbase64?=.bin"'),
            part(cd + b"filename*=utf-8''%F0%9F%98%80%ZZ.png"),
            part(cd + b"filename*=bogus-charset'en'%E9t%E9.txt"),
            part(cd + b'filename="\xc3\xa9t\xc3\xa9 raw utf8.txt"'),
            part(cd + b'filename="\xe9t\xe9 raw latin1.txt"'),
            part(cd + b'filename="=?utf-8?q?' + b"=41" * 100_000 + b'?="'),
            b"--b--\r\n",
        ]
    )
    pm, s = both(raw)
    names = [a.filename for a in pm.attachments]
    assert names[:7] == [
        "Привет.txt",
        "café.txt",
        names[2],  # undecodable base64: best effort, but a non-empty name
        "😀%ZZ.png",
        "été.txt",
        "été raw utf8.txt",
        "été raw latin1.txt",
    ]
    assert names[2]
    assert len(names[7]) > 1000
    assert s.attachment_names == tuple(names)
