from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.charset import one_line, printable


def test_printable_keeps_text_and_whitespace_and_escapes_controls() -> None:
    assert printable("a\tb\nc\rd é ✓") == "a\tb\nc\rd é ✓"
    assert printable("\x00\x1b[2J\x7f\x85") == "\\x00\\x1b[2J\\x7f\\x85"
    assert printable("bad \udc80 and \ufffe") == "bad \\udc80 and \\ufffe"


def test_printable_output_is_always_valid_xml() -> None:
    every_bmp = "".join(chr(c) for c in range(0x10000))
    element = ET.Element("x", attr=printable(every_bmp))
    element.text = printable(every_bmp)
    raw = ET.tostring(element, encoding="unicode")
    # XML end-of-line handling turns a bare CR in text into LF; that is the only change.
    assert ET.fromstring(raw).text == printable(every_bmp).replace("\r", "\n")


def test_one_line_folds_and_cuts() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("abcdefgh", 5) == "abcd…"
    assert one_line("abc", 5) == "abc"
