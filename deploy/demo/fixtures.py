"""The demo operator's data (spec section 10): rate plans, catalog, clients, contacts, a month of calls.

Deterministic (seeded): a second `make run` builds the same clients and the same call records, which
the API then recognises (clients by code, call records by cdr_id) and loads nothing twice.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

RATE_PLANS: list[dict[str, Any]] = [
    {
        "code": "PRO-FR",
        "rules": [
            {
                "prefix": "33",
                "label": "France fixe",
                "kind": "voice",
                "unit_price": "0.0150",
                "increment": "60/60",
            },
            {
                "prefix": "336",
                "label": "France mobile",
                "kind": "voice",
                "unit_price": "0.0900",
                "connection_fee": "0.0200",
                "increment": "60/60",
            },
            {
                "prefix": "337",
                "label": "France mobile",
                "kind": "voice",
                "unit_price": "0.0900",
                "connection_fee": "0.0200",
                "increment": "60/60",
            },
            {
                "prefix": "3389",
                "label": "Numéros spéciaux",
                "kind": "voice",
                "unit_price": "0.3500",
                "connection_fee": "0.0800",
                "increment": "60/60",
            },
            {
                "prefix": "44",
                "label": "Royaume-Uni",
                "kind": "voice",
                "unit_price": "0.1200",
                "connection_fee": "0.0500",
                "increment": "60/60",
            },
            {
                "prefix": "1",
                "label": "États-Unis / Canada",
                "kind": "voice",
                "unit_price": "0.0800",
                "connection_fee": "0.0500",
                "increment": "60/60",
            },
            {
                "prefix": "212",
                "label": "Maroc",
                "kind": "voice",
                "unit_price": "0.4500",
                "connection_fee": "0.1000",
                "increment": "60/60",
            },
            {"prefix": "336", "label": "SMS France", "kind": "sms", "unit_price": "0.0400"},
            {"prefix": "337", "label": "SMS France", "kind": "sms", "unit_price": "0.0400"},
            {"prefix": "", "label": "SMS international", "kind": "sms", "unit_price": "0.1500"},
            {"prefix": "", "label": "Data mobile", "kind": "data", "unit_price": "0.0100"},
        ],
    },
    {
        "code": "INTL-SEC",
        "rules": [
            {
                "prefix": "33",
                "label": "France fixe",
                "kind": "voice",
                "unit_price": "0.0120",
                "increment": "1/1",
            },
            {
                "prefix": "336",
                "label": "France mobile",
                "kind": "voice",
                "unit_price": "0.0800",
                "connection_fee": "0.0150",
                "increment": "1/1",
            },
            {
                "prefix": "337",
                "label": "France mobile",
                "kind": "voice",
                "unit_price": "0.0800",
                "connection_fee": "0.0150",
                "increment": "1/1",
            },
            {
                "prefix": "44",
                "label": "United Kingdom",
                "kind": "voice",
                "unit_price": "0.0900",
                "connection_fee": "0.0300",
                "increment": "1/1",
            },
            {
                "prefix": "447",
                "label": "United Kingdom mobile",
                "kind": "voice",
                "unit_price": "0.1500",
                "connection_fee": "0.0300",
                "increment": "1/1",
            },
            {
                "prefix": "1",
                "label": "USA / Canada",
                "kind": "voice",
                "unit_price": "0.0600",
                "connection_fee": "0.0300",
                "increment": "1/1",
            },
            {
                "prefix": "212",
                "label": "Morocco",
                "kind": "voice",
                "unit_price": "0.3800",
                "connection_fee": "0.0800",
                "increment": "1/1",
            },
            {"prefix": "", "label": "SMS", "kind": "sms", "unit_price": "0.0600"},
            {"prefix": "", "label": "Mobile data", "kind": "data", "unit_price": "0.0080"},
        ],
    },
]

CATALOG: list[dict[str, Any]] = [
    {
        "code": "SIP-LINE",
        "label": "Ligne SIP",
        "kind": "recurring",
        "unit_price": "19.90",
        "vat_rate": "20.00",
        "accounting_account": "706100",
    },
    {
        "code": "MOBILE-PRO",
        "label": "Forfait mobile pro",
        "kind": "recurring",
        "unit_price": "24.00",
        "vat_rate": "20.00",
        "accounting_account": "706110",
    },
    {
        "code": "FIBER-1G",
        "label": "Accès fibre 1 Gbit/s",
        "kind": "recurring",
        "unit_price": "89.00",
        "vat_rate": "20.00",
        "accounting_account": "706120",
    },
    {
        "code": "PBX-SEAT",
        "label": "Poste standard cloud",
        "kind": "recurring",
        "unit_price": "7.50",
        "vat_rate": "20.00",
        "accounting_account": "706130",
    },
    {
        "code": "SETUP",
        "label": "Frais de mise en service",
        "kind": "one_time",
        "unit_price": "149.00",
        "vat_rate": "20.00",
        "accounting_account": "706200",
    },
    {
        "code": "HANDSET",
        "label": "Téléphone IP Yealink T54W",
        "kind": "one_time",
        "unit_price": "189.00",
        "vat_rate": "20.00",
        "accounting_account": "707100",
    },
    {
        "code": "GOODWILL",
        "label": "Avoir geste commercial",
        "kind": "credit_note",
        "unit_price": "-20.00",
        "vat_rate": "20.00",
        "accounting_account": "709000",
    },
    {
        "code": "USAGE",
        "label": "Consommations télécom",
        "kind": "usage",
        "unit_price": "0",
        "vat_rate": "20.00",
        "accounting_account": "706300",
    },
]

FRENCH = [
    ("Boulangerie Martin", "Paris", "75011"),
    ("Cabinet Durand Avocats", "Lyon", "69002"),
    ("Garage Petit Frères", "Marseille", "13008"),
    ("Pharmacie du Centre", "Toulouse", "31000"),
    ("Agence Lefèvre Immobilier", "Nice", "06000"),
    ("Transports Moreau", "Nantes", "44000"),
    ("Clinique Vétérinaire Roux", "Strasbourg", "67000"),
    ("Hôtel Bellevue", "Montpellier", "34000"),
    ("Bureau d'études Fournier", "Bordeaux", "33000"),
    ("Restaurant Le Girardin", "Lille", "59000"),
    ("Imprimerie Bonnet", "Rennes", "35000"),
    ("Menuiserie Lambert", "Reims", "51100"),
    ("Opticiens Fontaine", "Le Havre", "76600"),
    ("Expertise Comptable Rousseau", "Dijon", "21000"),
    ("Auto-école Vincent", "Angers", "49000"),
    ("Crèche Les Petits Pas", "Grenoble", "38000"),
    ("Fleuriste Mercier", "Tours", "37000"),
    ("Laboratoire Blanc", "Limoges", "87000"),
    ("Architectes Guerin & Associés", "Annecy", "74000"),
    ("Librairie Faure", "Clermont-Ferrand", "63000"),
    ("Plomberie André", "Brest", "29200"),
    ("Cave à vins Chevalier", "Avignon", "84000"),
]
ENGLISH = [
    ("Harbour Logistics Ltd", "London", "EC1A 1BB", "GB", "GBP"),
    ("Kingfisher Design Studio", "Manchester", "M1 1AE", "GB", "GBP"),
    ("Oakridge Consulting", "Dublin", "D02 X285", "IE", "EUR"),
    ("Bluebell Dental Practice", "Bristol", "BS1 4DJ", "GB", "GBP"),
    ("Northwind Software", "Edinburgh", "EH1 1YZ", "GB", "GBP"),
    ("Atlas Trading Morocco", "Casablanca", "20000", "MA", "EUR"),
    ("Maple Leaf Imports", "Montréal", "H2Y 1C6", "CA", "EUR"),
    ("Riverside Accountancy", "Cork", "T12 X70A", "IE", "EUR"),
]
STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "rue Pasteur",
    "place du Marché",
    "rue des Écoles",
    "avenue de la Gare",
    "rue Nationale",
]


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def demo_clients() -> list[dict[str, Any]]:
    rnd = random.Random(7)
    clients: list[dict[str, Any]] = []
    for n, (name, city, postcode) in enumerate(FRENCH, start=1):
        siren = f"{rnd.randrange(10**8, 10**9)}"
        clients.append(
            {
                "code": f"DEMO-FR{n:02d}",
                "name": name,
                "language": "fr",
                "currency": "EUR",
                "address": {
                    "line1": f"{rnd.randrange(1, 120)} {rnd.choice(STREETS)}",
                    "postcode": postcode,
                    "city": city,
                    "country": "FR",
                },
                "siren": siren,
                "vat_id": f"FR{rnd.randrange(10, 99)}{siren}",
                "rate_plan_code": "PRO-FR" if n % 4 else "INTL-SEC",
                "payment_terms_days": 30 if n % 3 else 45,
            }
        )
    for n, (name, city, postcode, country, currency) in enumerate(ENGLISH, start=1):
        clients.append(
            {
                "code": f"DEMO-EN{n:02d}",
                "name": name,
                "language": "en",
                "currency": currency,
                "address": {
                    "line1": f"{rnd.randrange(1, 200)} High Street",
                    "postcode": postcode,
                    "city": city,
                    "country": country,
                },
                "rate_plan_code": "INTL-SEC",
                "payment_terms_days": 30,
            }
        )
    return clients


def contact_of(client: dict[str, Any]) -> list[dict[str, Any]]:
    domain = client["code"].lower().replace("demo-", "") + ".example.com"
    if client["language"] == "fr":
        return [
            {"name": "Service comptabilité", "email": f"compta@{domain}", "invoice_recipient": True},
            {"name": "Direction", "email": f"direction@{domain}", "invoice_recipient": False},
        ]
    return [{"name": "Accounts payable", "email": f"accounts@{domain}", "invoice_recipient": True}]


def call_records_csv(clients: list[dict[str, Any]], month: dt.date) -> str:
    """A month of realistic traffic: office hours, mostly French numbers, some abroad, SMS and data."""
    rnd = random.Random(month.toordinal())
    days = ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month).days
    out = io.StringIO()
    out.write("cdr_id,account,started_at,kind,duration_s,units,caller,callee\n")
    for client in clients:
        volume = rnd.randrange(40, 220)
        for i in range(volume):
            day = month + dt.timedelta(days=rnd.randrange(days))
            if day.weekday() >= 5 and rnd.random() < 0.8:
                day -= dt.timedelta(days=2)  # mostly working days
            started = dt.datetime.combine(
                day, dt.time(rnd.randrange(8, 19), rnd.randrange(60), rnd.randrange(60)), PARIS
            )
            caller = f"+331{rnd.randrange(10**8):08d}"
            draw = rnd.random()
            duration: int | str  # empty in the CSV for SMS and data
            if draw < 0.40:
                kind, callee, duration, units = (
                    "voice",
                    f"+33{rnd.choice('12345')}{rnd.randrange(10**8):08d}",
                    rnd.choice([0, rnd.randrange(5, 900)]),
                    "",
                )
            elif draw < 0.70:
                kind, callee, duration, units = (
                    "voice",
                    f"+33{rnd.choice('67')}{rnd.randrange(10**8):08d}",
                    rnd.randrange(3, 1200),
                    "",
                )
            elif draw < 0.78:
                cc = rnd.choice(["44", "447", "1", "212"])
                kind, callee, duration, units = (
                    "voice",
                    f"00{cc}{rnd.randrange(10**9):09d}",
                    rnd.randrange(10, 1500),
                    "",
                )
            elif draw < 0.80:
                kind, callee, duration, units = (
                    "voice",
                    f"+3389{rnd.randrange(10**7):07d}",
                    rnd.randrange(30, 400),
                    "",
                )
            elif draw < 0.92:
                kind, callee, duration, units = (
                    "sms",
                    f"+33{rnd.choice('67')}{rnd.randrange(10**8):08d}",
                    "",
                    "1",
                )
            else:
                kind, callee, duration, units = (
                    "data",
                    "internet",
                    "",
                    f"{rnd.randrange(10, 250000) / 100:.2f}",
                )
            cdr_id = f"demo-{month:%Y%m}-{client['code']}-{i:04d}"
            out.write(
                f"{cdr_id},{client['code']},{started.isoformat()},{kind},{duration},{units},{caller},{callee}\n"
            )
    # A record for an account nobody knows: kept unrated and reported, as a mediation error would be.
    stray_at = dt.datetime.combine(month, dt.time(9), PARIS).isoformat()
    out.write(f"demo-{month:%Y%m}-stray-0001,DEMO-UNKNOWN,{stray_at},voice,42,,+33140000000,+33612345678\n")
    return out.getvalue()
