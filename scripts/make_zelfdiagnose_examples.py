"""Generate the example QuestionnaireResponses of the self-diagnosis Questionnaire.

Developer tool, not part of the installed package. Run from the repository root after
scripts/make_zelfdiagnose_questionnaire.py:

    .venv/bin/python scripts/make_zelfdiagnose_examples.py [--check]

The ROUTES table below is written from the BOOK (Spreekuur Thuis, 'Zelfdiagnose: vragen stellen',
content map section 1.3/1.4), not from the enableWhen engine: each route lists the answers a
reader gives and the outcomes the book (plus our documented decisions in questionnaires/README.md)
says they reach. The Questionnaire is only used for the shape of the response (where an item
sits, the display of a chosen Coding). The tests then check the Questionnaire against this table
by evaluating every example.

Outputs:
- examples/QuestionnaireResponse-zelfdiagnose-<route>.json (one per route)
- examples/zelfdiagnose-lage-rugklachten.expected.toml (expected outcomes per example)
- examples/invalid/QuestionnaireResponse-zelfdiagnose-ongeldig-*.json and their table in
  examples/invalid/expected.toml (only the zelfdiagnose tables; other tables are kept)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fhirrug.jsonio import dumps, read_json  # noqa: E402
from _generated import sync  # noqa: E402

from fhirrug.manifest import load_manifest  # noqa: E402

MANIFEST = load_manifest(ROOT)  # canonical base and version: unchanged output after `fhirrug bump`
BASE = MANIFEST.canonical.rstrip("/")
Q_ID = "zelfdiagnose-lage-rugklachten"
Q_URL = f"{BASE}/Questionnaire/{Q_ID}"
VERSION = MANIFEST.version
A = f"{BASE}/CodeSystem/zelfdiagnose-antwoord"
ALARM = f"{BASE}/CodeSystem/rugalarm-uitkomst"
AUTHORED = "2026-11-25T10:00:00+01:00"

# ---- the book's routes ---------------------------------------------------------------------
# Lijst 1 (first 'ja' ends), Lijst 2 (choice), Lijst 3/4/5 (closest statement, and a second one
# when its answer is not recognised), Lijst 6 (first 'ja' ends; a rejected answer: the next
# bullet), Lijst 7 (location). Answer numbers per bullet, verbatim from the book's targets. An
# outcome is an answer the reader stops at: recognised, or one nothing is asked about.
LIJST1 = {1: [1], 2: [2], 3: [3], 4: [4], 5: [5], 6: [6]}
LIJST3 = {1: [27], 2: [9], 3: [7], 4: [8], 5: [10]}
LIJST4 = {1: [13], 2: [12], 3: [14], 4: [11]}
LIJST5 = {1: [15], 2: [16], 3: [17], 4: [18], 5: [19]}
LIJST6 = {1: [20, 21], 2: [21], 3: [21], 4: [22], 5: [22], 6: [19], 7: [6, 23], 8: [24], 9: [25], 10: [26]}
LIJST7 = {1: [28], 2: [29], 3: [30], 4: [31]}
LIJST2_ROUTE = {3: "2.1", 4: "2.2", 5: "2.3", 6: "2.4"}

GEEN_ALARM = {"alarm.1": False, "alarm.2": False, "alarm.3": False}
LIJST1_NEE = {f"lijst1.{k}": False for k in range(1, 7)}
# The questions the book asks after answers 3 and 5 ("kunt u alsnog met deze vragenlijst verder
# gaan", "dan kunt u gewoon verder gaan met de laatste vraag van Lijst 1"), answered so that the
# reader goes on, and so that the reader stops at the answer.
VERDER = {3: {"lijst1.antwoord-3.fractuur-uitgesloten": True, "lijst1.antwoord-3.oorzaak": False},
          5: {"lijst1.antwoord-5.complicatie": False, "lijst1.antwoord-5.bekkeninstabiliteit": False}}
STOP = {3: {"lijst1.antwoord-3.fractuur-uitgesloten": False}, 5: {"lijst1.antwoord-5.complicatie": True}}


def antw(*numbers: int) -> list[str]:
    return [f"{A}|{n}" for n in numbers]


def lijst1_tot(k: int) -> dict:
    """'nee' on 1.1 .. 1.(k-1), 'ja' on 1.k, and for answers 3 and 5 the answer that stops there."""
    answers = dict(GEEN_ALARM)
    answers.update({f"lijst1.{j}": False for j in range(1, k)})
    answers[f"lijst1.{k}"] = True
    answers.update(STOP.get(k, {}))
    return answers


def naar_lijst(n: int) -> dict:
    answers = dict(GEEN_ALARM)
    answers.update(LIJST1_NEE)
    answers["lijst2"] = LIJST2_ROUTE[n] if n in LIJST2_ROUTE else "2.geen"
    return answers


def lijst6_tot(k: int, herkend: bool = True) -> dict:
    answers = naar_lijst(6)
    answers.update({f"lijst6.{j}": False for j in range(1, k)})
    answers[f"lijst6.{k}"] = True
    answers[f"lijst6.{k}.herkenning"] = herkend
    return answers


def keuze(n: int, k: int, herkend: bool = True) -> dict:
    """Lijst n, first choice n.k, its answer recognised or not."""
    answers = naar_lijst(n)
    answers[f"lijst{n}.keuze"] = f"{n}.{k}"
    answers[f"lijst{n}.antwoord-{TABLES[n][k][0]}.herkenning"] = herkend
    return answers


def tweede_keuze(n: int, first: int, second: int, herkend: bool) -> dict:
    """First choice n.first not recognised ("ga daar verder"), second choice n.second."""
    answers = keuze(n, first, herkend=False)
    answers[f"lijst{n}.keuze-2.na-{n}.{first}"] = f"{n}.{second}"
    answers[f"lijst{n}.keuze-2.antwoord-{TABLES[n][second][0]}.herkenning"] = herkend
    return answers


TABLES = {3: LIJST3, 4: LIJST4, 5: LIJST5}


def routes() -> dict[str, tuple[str, dict, list[str]]]:
    """route name -> (description, answers by linkId, expected outcomes in Questionnaire order)."""
    r: dict[str, tuple[str, dict, list[str]]] = {}
    r["alarm-cauda-equina"] = ("Alarmvraag 1 (plas-/ontlastingproblemen, rijbroekgebied) ja: direct bellen.",
                               {"alarm.1": True}, [f"{ALARM}|cauda-equina"])
    r["alarm-toenemende-uitval"] = ("Alarmvraag 2 (kracht neemt duidelijk af) ja.",
                                    {"alarm.1": False, "alarm.2": True}, [f"{ALARM}|toenemende-uitval"])
    r["alarm-klapvoet-recent"] = ("Alarmvraag 3: een klapvoet die er al is (sinds kort), zonder dat de kracht verder afneemt: ook dan direct contact.",
                                  {"alarm.1": False, "alarm.2": False, "alarm.3": True}, [f"{ALARM}|toenemende-uitval"])
    for k, targets in LIJST1.items():
        r[f"lijst1-{k}"] = (f"Lijst 1, bullet 1.{k} ja" + {3: "; nog niet bij de huisarts geweest (fractuur niet uitgesloten): de lijst stopt.",
                                                            5: "; een complicatie in de zwangerschap (of twijfel): de lijst stopt."}.get(k, "."),
                            lijst1_tot(k), antw(*targets))
    # Answer 3: the GP found a cause: the reader stops at answer 3.
    a = lijst1_tot(3)
    a.update({"lijst1.antwoord-3.fractuur-uitgesloten": True, "lijst1.antwoord-3.oorzaak": True})
    r["lijst1-3-oorzaak-gevonden"] = ("Antwoord 3, fractuur uitgesloten maar de huisarts vond een oorzaak: de lijst stopt bij antwoord 3.", a, antw(3))
    # Answer 3: fracture ruled out, no cause found: go on with 1.4; answer 3 is then no outcome.
    a = lijst1_tot(3)
    a.update({**VERDER[3], "lijst1.4": True})
    r["lijst1-3-verder-1-4"] = ("Antwoord 3, fractuur uitgesloten en geen oorzaak: verder, 1.4 ja. Alleen antwoord 4 is de uitkomst.", a, antw(4))
    # Answer 5: no complication, but the reader recognises Bekkeninstabiliteit: stop at answer 5.
    a = lijst1_tot(5)
    a.update({"lijst1.antwoord-5.complicatie": False, "lijst1.antwoord-5.bekkeninstabiliteit": True})
    r["lijst1-5-bekkeninstabiliteit"] = ("Antwoord 5, geen complicatie, wel herkend onder Bekkeninstabiliteit: de lijst stopt bij antwoord 5.", a, antw(5))
    # Answer 5: no complication, not Bekkeninstabiliteit: continue with the last question of Lijst 1.
    a = lijst1_tot(5)
    a.update({**VERDER[5], "lijst1.6": True})
    r["lijst1-5-verder-1-6"] = ("Antwoord 5, geen complicatie en geen bekkeninstabiliteit: verder met de laatste vraag van Lijst 1, 1.6 ja.", a, antw(6))
    a = lijst1_tot(5)
    a.update({**VERDER[5], "lijst1.6": False, "lijst2": "2.1", "lijst3.keuze": "3.3", "lijst3.antwoord-7.herkenning": True})
    r["lijst1-5-verder-lijst3-3"] = ("Antwoord 5, verder: 1.6 nee, Lijst 2 keuze 2.1, Lijst 3 keuze 3.3, herkend.", a, antw(7))
    for n, table in TABLES.items():
        for k, targets in table.items():
            r[f"lijst{n}-{k}"] = (f"Lijst 2 keuze {LIJST2_ROUTE[n]}, Lijst {n} keuze {n}.{k}, antwoord herkend.", keuze(n, k), antw(*targets))
    for k, targets in LIJST6.items():
        r[f"lijst6-{k}"] = (f"Lijst 2 keuze 2.4, Lijst 6 bullet 6.{k} ja, antwoord herkend.", lijst6_tot(k), antw(*targets))
    for k, targets in LIJST7.items():
        a = naar_lijst(7)
        a["lijst7.keuze"] = f"7.{k}"
        r[f"lijst7-{k}"] = (f"Lijst 2 geen van deze (‘Zo neen, ga verder met Lijst 7.’), Lijst 7 keuze 7.{k}.", a, antw(*targets))
    # Lijst 7 as the fallback ("U hebt nog niets herkenbaars gevonden"): Lijst 6 all 'nee' ...
    a = naar_lijst(6)
    a.update({f"lijst6.{k}": False for k in range(1, 11)})
    a["lijst7.keuze"] = "7.2"
    r["lijst6-alles-nee-lijst7-2"] = ("Lijst 6 alles nee, dan Lijst 7 keuze 7.2.", a, antw(29))
    # Not recognised in Lijst 3, 4, 5: back to the list ("ga daar verder"), a second choice among
    # the other statements; a rejected answer is no outcome.
    r["lijst3-1-niet-herkend-3-3"] = ("Lijst 3 keuze 3.1, antwoord 27 niet herkend; tweede keuze 3.3, antwoord 7 herkend. Alleen antwoord 7 is de uitkomst.",
                                      tweede_keuze(3, 1, 3, True), antw(7))
    a = tweede_keuze(3, 3, 4, False)
    a["lijst7.keuze"] = "7.4"
    r["lijst3-3-niet-herkend-3-4-niet-herkend-lijst7-4"] = ("Lijst 3 keuze 3.3 en daarna 3.4, geen van beide herkend: Lijst 7 keuze 7.4.", a, antw(31))
    r["lijst4-4-niet-herkend-4-2"] = ("Lijst 4 keuze 4.4, antwoord 11 niet herkend; tweede keuze 4.2, antwoord 12 herkend.", tweede_keuze(4, 4, 2, True), antw(12))
    a = tweede_keuze(5, 4, 1, False)
    a["lijst7.keuze"] = "7.3"
    r["lijst5-4-niet-herkend-5-1-niet-herkend-lijst7-3"] = ("Lijst 5 keuze 5.4 en daarna 5.1, geen van beide herkend: Lijst 7 keuze 7.3.", a, antw(30))
    # Lijst 6: not recognising the answer sends the reader back to the bullet, and on ('ga daar verder').
    a = lijst6_tot(1, herkend=False)
    a.update({"lijst6.2": False, "lijst6.3": False, "lijst6.4": True, "lijst6.4.herkenning": True})
    r["lijst6-1-niet-herkend-6-4"] = ("Lijst 6 bullet 6.1 ja, antwoorden 20 en 21 niet herkend, verder: 6.4 ja, antwoord 22 herkend. Alleen antwoord 22 is de uitkomst.", a, antw(22))
    a = lijst6_tot(10, herkend=False)
    a["lijst7.keuze"] = "7.1"
    r["lijst6-10-niet-herkend-lijst7-1"] = ("Lijst 6 bullet 6.10 ja, antwoord 26 niet herkend, Lijst 7 keuze 7.1.", a, antw(28))
    return r


# For the alarm routes the whole set of enabled items is recorded too: after an alarm 'ja' nothing
# of the book's procedure may be enabled (safety first).
_START = ["instructie", "voorbehoud", "alarm", "alarm.1"]
_UITVAL = ["alarm.2.uitkomst", "alarm.2.uitkomst.tekst", "alarm.2.advies"]
ENABLED = {
    "alarm-cauda-equina": _START + ["alarm.1.uitkomst", "alarm.1.uitkomst.tekst", "alarm.1.advies"],
    "alarm-toenemende-uitval": _START + ["alarm.2"] + _UITVAL,
    "alarm-klapvoet-recent": _START + ["alarm.2", "alarm.3"] + _UITVAL,
}

# Deliberately wrong responses: (description, answers, status, expected issues (code, expression)).
INVALID = {
    "zelfdiagnose-ongeldig-antwoord-op-uitgeschakeld": (
        "Bullet 1.1 ja beëindigt Lijst 1 (antwoord 1), toch is Lijst 2 beantwoord.",
        {**lijst1_tot(1), "lijst2": "2.1"}, "completed",
        [("Questionnaire_QR_Item_NotEnabled", "QuestionnaireResponse.item[2]")],
    ),
    "zelfdiagnose-ongeldig-verplicht-ontbreekt": (
        "Lijst 1 alles nee, maar de verplichte keuze van Lijst 2 ontbreekt in een afgeronde response.",
        {**GEEN_ALARM, **LIJST1_NEE}, "completed",
        [("Questionnaire_QR_Item_Missing", "QuestionnaireResponse")],
    ),
}


# ---- building responses ----------------------------------------------------------------------
def _option_coding(item: dict, code: str) -> dict:
    for opt in item.get("answerOption", []):
        c = opt.get("valueCoding", {})
        if c.get("code") == code:
            return {"system": c["system"], "code": code, "display": c["display"]}
    raise SystemExit(f"{item['linkId']}: no answerOption {code}")


def _answer(item: dict, value) -> list[dict]:
    if item["type"] == "boolean":
        return [{"valueBoolean": value}]
    if item["type"] == "choice":
        return [{"valueCoding": _option_coding(item, value)}]
    raise SystemExit(f"{item['linkId']}: unsupported type {item['type']}")


def _items(q_items: list[dict], answers: dict, used: set) -> list[dict]:
    out = []
    for item in q_items:
        link_id = item["linkId"]
        if item["type"] == "group":
            children = _items(item.get("item", []), answers, used)
            if children:
                out.append({"linkId": link_id, "item": children})
        elif item["type"] != "display" and link_id in answers:
            used.add(link_id)
            out.append({"linkId": link_id, "answer": _answer(item, answers[link_id])})
    return out


def response(rid: str, q: dict, answers: dict, status: str = "completed") -> dict:
    used: set = set()
    items = _items(q["item"], answers, used)
    unknown = set(answers) - used
    if unknown:
        raise SystemExit(f"{rid}: answers for unknown items {sorted(unknown)}")
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "language": "nl-NL",
        "questionnaire": f"{Q_URL}|{VERSION}",
        "status": status,
        "authored": AUTHORED,
        "item": items,
    }


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def expected_toml(route_table: dict) -> str:
    lines = [
        "# Expected outcomes of the example responses of Questionnaire zelfdiagnose-lage-rugklachten.",
        "# Written by scripts/make_zelfdiagnose_examples.py from its route table (the book's routes),",
        "# not from the enableWhen engine. outcomes: system|code of every enabled outcome (a coded",
        "# group holding no question), in Questionnaire order; an answer the reader rejected is none.",
        "",
    ]
    for name, (desc, _, outcomes) in route_table.items():
        lines.append(f"# {desc}")
        lines.append(f'["QuestionnaireResponse-zelfdiagnose-{name}"]')
        lines.append(f"outcomes = {_toml_list(outcomes)}")
        if name in ENABLED:
            lines.append(f"enabled = {_toml_list(ENABLED[name])}")
        lines.append("")
    return "\n".join(lines)


BEGIN = "# --- begin zelfdiagnose (generated by scripts/make_zelfdiagnose_examples.py) ---"
END = "# --- end zelfdiagnose ---"


def invalid_toml(existing: str) -> str:
    block = [BEGIN]
    for rid, (desc, _, _, issues) in INVALID.items():
        block.append(f"# {desc}")
        block.append(f'["QuestionnaireResponse-{rid}"]')
        block.append("issues = [" + ", ".join(f"[{_toml_str(c)}, {_toml_str(e)}]" for c, e in issues) + "]")
    block.append(END)
    text = "\n".join(block) + "\n"
    if BEGIN in existing and END in existing:
        return re.sub(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", lambda _: text, existing, flags=re.S)
    header = "" if existing else "# Deliberately wrong example responses and the issues they must give: [code, expression].\n\n"
    return existing + ("\n" if existing and not existing.endswith("\n\n") else "") + header + text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    q, issues = read_json(ROOT / "questionnaires" / f"Questionnaire-{Q_ID}.json")
    if issues:
        print(issues, file=sys.stderr)
        return 1
    table = routes()
    files: dict[Path, str] = {}
    for name, (_, answers, _) in table.items():
        rid = f"zelfdiagnose-{name}"
        files[ROOT / "examples" / f"QuestionnaireResponse-{rid}.json"] = dumps(response(rid, q, answers))
    files[ROOT / "examples" / f"{Q_ID}.expected.toml"] = expected_toml(table)
    for rid, (_, answers, status, _) in INVALID.items():
        files[ROOT / "examples" / "invalid" / f"QuestionnaireResponse-{rid}.json"] = dumps(response(rid, q, answers, status))
    inv = ROOT / "examples" / "invalid" / "expected.toml"
    files[inv] = invalid_toml(inv.read_text(encoding="utf-8") if inv.exists() else "")
    # example responses of routes no longer in the table (the file name is the route)
    gone = [p for folder in (ROOT / "examples", ROOT / "examples" / "invalid")
            for p in sorted(folder.glob(f"QuestionnaireResponse-{Q_ID.split('-')[0]}-*.json")) if p not in files]
    fresh, changed = sync(files, check, gone)
    if check:
        return 0 if fresh else 1
    print(f"{len(table)} examples, {len(INVALID)} invalid examples; {len(changed)} files written or removed")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
