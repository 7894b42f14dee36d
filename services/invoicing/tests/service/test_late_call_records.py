"""A call record that arrives after its month was invoiced is billed by the next cycle, once."""

from __future__ import annotations

from invoicing_api_setup import call, get, operator, post, run


async def test_late_record_goes_to_the_next_cycle_and_is_billed_once(invoicing) -> None:
    [client] = await operator(invoicing)
    march = "2026-03-10T10:00:00+01:00"
    await post(
        invoicing, "/api/v1/usage", [call("ontime", "ACME1", "33145000000", 60, started_at=march)], expect=200
    )
    first = await run(invoicing, "2026-03", "production", [client["id"]])
    [march_invoice] = first["documents"]

    # Mediation sends a March call late, after March was invoiced, and an April call.
    late = call("late", "ACME1", "33145000000", 120, started_at="2026-03-31T23:50:00+02:00")
    april = call("april", "ACME1", "33145000000", 60, started_at="2026-04-02T09:00:00+02:00")
    await post(invoicing, "/api/v1/usage", [late, april], expect=200)

    again = await run(invoicing, "2026-03", "production", [client["id"]])
    assert again["documents"] == []  # March is not billed twice
    second = await run(invoicing, "2026-04", "production", [client["id"]])
    [april_invoice] = second["documents"]

    march_calls = await get(invoicing, f"/api/v1/invoices/{march_invoice}/consumption")
    april_calls = await get(invoicing, f"/api/v1/invoices/{april_invoice}/consumption")
    assert [c["cdr_id"] for c in march_calls["items"]] == ["ontime"]
    assert sorted(c["cdr_id"] for c in april_calls["items"]) == ["april", "late"]

    third = await run(invoicing, "2026-05", "production", [client["id"]])
    assert third["documents"] == []  # nothing left to bill: neither call is billed a second time
