"""Who may do what on the broker: one SASL/SCRAM principal per service, ACLs derived from the topic catalog.

    python deploy/kafka_acls.py principals     the names deploy/kafka.sh makes credentials for
    python deploy/kafka_acls.py show           the ACLs, one a line

Each service principal (its name: invoicing, rendering, notification, export) may
- write (and describe) the topics the catalog says it produces, and the dead-letter topics of those it
  consumes;
- read (and describe) the topics it consumes, in consumer groups named `<service>.` (prefixed).
External producers get one principal each and may write only their topic: `mediation` usage.recorded,
`scheduler` billing.run.requested, `crm` creditnote.requested ("any system" in the catalog).
`admin` (topic creation, ACLs, the tests' own clients) and `broker` (the node itself) are super users,
as is the controller listener's ANONYMOUS principal: that listener is PLAINTEXT on 127.0.0.1 only
(docs/security.md says why). Nothing else is allowed: allow.everyone.if.no.acl.found=false.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ledgerline_shared.topics import CATALOG, dead_letter_topic

SERVICES = ("invoicing", "rendering", "notification", "export")
# The catalog's producer names that are systems outside Ledgerline, and the principal each gets.
EXTERNAL = {"mediation": "mediation", "scheduler": "scheduler", "any": "crm"}
SUPER_USERS = ("broker", "admin")


@dataclass(frozen=True)
class Acl:
    principal: str  # the SCRAM user name; Kafka sees it as User:<name>
    resource: str  # "topic" or "group"
    name: str
    prefixed: bool
    operation: str  # "read", "write" or "describe"


def principals() -> list[str]:
    return [*SUPER_USERS, *SERVICES, *sorted(set(EXTERNAL.values()))]


def acls() -> list[Acl]:
    rules: list[Acl] = []
    for spec in CATALOG.values():
        writers = {p for p in spec.producers if p in SERVICES} | {
            EXTERNAL[p] for p in spec.producers if p in EXTERNAL
        }
        for writer in sorted(writers):
            rules += [Acl(writer, "topic", spec.name, False, op) for op in ("write", "describe")]
        for reader in spec.consumers:
            rules += [Acl(reader, "topic", spec.name, False, op) for op in ("read", "describe")]
            dlq = dead_letter_topic(spec.name)
            rules += [Acl(reader, "topic", dlq, False, op) for op in ("write", "describe")]
    for service in SERVICES:
        rules.append(Acl(service, "group", f"{service}.", True, "read"))
    return rules


def main(argv: list[str]) -> int:
    if argv == ["principals"]:
        print("\n".join(principals()))
    elif argv == ["show"]:
        for rule in acls():
            pattern = "prefixed" if rule.prefixed else "literal"
            print(f"User:{rule.principal}\t{rule.operation}\t{rule.resource}:{rule.name} ({pattern})")
    else:
        print("usage: kafka_acls.py principals|show", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
