"""Build the self-diagnosis Questionnaire of 'Spreekuur Thuis' and its choice CodeSystem/ValueSets.

Developer tool, not part of the installed package. Run from the repository root:

    .venv/bin/python scripts/make_zelfdiagnose_questionnaire.py [--check]

Inputs:
- the book's bullets and headings, read from the content map (`../shared/content/content-map.md`,
  section 1.3), each checked against the raw book text (`../shared/seeds/002_*.txt`) after the
  content map's normalisation (whitespace, line-end hyphenation);
- the outcome texts, copied from the terminology engineer's CodeSystems
  (`valuesets/CodeSystem-zelfdiagnose-antwoord.json`, `valuesets/CodeSystem-rugalarm-uitkomst.json`):
  `definition` (+ its English translation) becomes the text of the answer's display item,
  `display` the outcome group's title and item.code display. The Questionnaire never carries
  its own copy of an answer text.

Outputs (written atomically, in the project's JSON format):
- questionnaires/Questionnaire-zelfdiagnose-lage-rugklachten.json
- valuesets/CodeSystem-zelfdiagnose-keuze.json (answer options of Lijst 2, 3, 4, 5 and 7)
- valuesets/ValueSet-zelfdiagnose-lijst{2,3,4,5,7}.json

The routing is described in questionnaires/README.md; this script is its single implementation.
`--check` exits 1 when a file on disk differs from what the script would write.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fhirrug.jsonio import dumps, read_json  # noqa: E402
from _generated import sync  # noqa: E402

SHARED = ROOT / ".." / "shared"
CONTENT_MAP = SHARED / "content" / "content-map.md"

from fhirrug.manifest import load_manifest  # noqa: E402

# version, date, status, canonical base and publisher come from fhirrug.toml, so that the
# generated files stay identical after `fhirrug bump`.
MANIFEST = load_manifest(ROOT)
BASE = MANIFEST.canonical.rstrip("/")
VERSION = MANIFEST.version
DATE = MANIFEST.date
STATUS = MANIFEST.status
PUBLISHER = MANIFEST.publisher
Q_ID = "zelfdiagnose-lage-rugklachten"
ANTWOORD_SYSTEM = f"{BASE}/CodeSystem/zelfdiagnose-antwoord"
ALARM_SYSTEM = f"{BASE}/CodeSystem/rugalarm-uitkomst"
KEUZE_SYSTEM = f"{BASE}/CodeSystem/zelfdiagnose-keuze"
TEKSTBRON_EXT = f"{BASE}/StructureDefinition/tekstbron"
TEKSTBRON_SYSTEM = f"{BASE}/CodeSystem/tekstbron"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
TEKSTBRON_DISPLAY: dict[str, str] = {}  # code -> display, read from valuesets/CodeSystem-tekstbron.json

# --------------------------------------------------------------------------------------------
# English translations of the book's bullets (ours; faithful in meaning). Dutch comes from the
# content map, never from this file.
# --------------------------------------------------------------------------------------------
BULLET_EN = {
    "1.1": "You have lost a lot of weight without wanting to:",
    "1.2": "You are over 50 to 55 years old and have truly never had back complaints before (above all no lumbago, not even when you were young):",
    "1.3": "You have been taking corticosteroids for quite some time:",
    "1.4": "You also have a fever:",
    "1.5": "You are pregnant and have never had back complaints before:",
    "1.6": "You have pain almost exclusively at night:",
    "2.1": "Radiation into the buttock and leg, right down into your foot or toes. So what matters most is how far the radiation goes. Really down into the foot or toes? This also applies when this radiation occurs only now and then or in certain circumstances, for example only while walking or while lying down.",
    "2.2": "With radiation low in the buttock and mainly into the hollow of the knee or the side of the calf, but not into your foot (feet) or toes. This also applies when this is the case only now and then or in certain circumstances, for example while sitting or standing and not while walking, cycling or lying down.",
    "2.3": "With radiation into the hip region, groin, or into the thigh or the buttock area. So there is no further radiation into the whole leg or into the calf.",
    "2.4": "The pain does not radiate but stays somewhere in the back.",
    "3.1": "You have had these complaints since you fell hard on your tailbone or buttocks:",
    "3.2": "You get pain above all when walking and standing, which eases when bending over, squatting or sitting:",
    "3.3": "It seems as if now and then you no longer have any feeling in your big or little toes. Perhaps you even have a foot drop:",
    "3.4": "When coughing, sneezing and straining, pain shoots through your back and leg, sometimes right down into your toes:",
    "3.5": "You get trouble with your back and leg above all when sitting, standing and bending over. You have the least trouble while walking or cycling:",
    "4.1": "Walking above all brings on the complaints, and they then ease with sitting, squatting and bending over:",
    "4.2": "You can bring on the pain in the calf by bending over, bending your head or taking big strides, but also when, lying down, you stretch your leg upwards:",
    "4.3": "The pain is both low in the buttock and in the thigh and in the hollow of the knee or in the side of the lower leg:",
    "4.4": "The complaints get worse above all with longer sitting and standing and are least with walking and cycling:",
    "5.1": "The pain radiates as far as your knee and you have pain when coughing, sneezing and straining. Sometimes you have a numb feeling in the front and inside of your thigh:",
    "5.2": "You have pain in the hip region, especially while lying on your painful side:",
    "5.3": "You have difficulty walking and can no longer walk fully upright. It seems as if you have become stiffer and stiffer:",
    "5.4": "You are troubled above all by pain in your groin and at the side of your hip:",
    "5.5": "You have had these complaints since you fell hard on your buttocks or tailbone:",
    "6.1": "It shot into your back ‘just like that’ or after lifting something. At first you could not bend up or down and perhaps you even walked completely crooked and bent. Perhaps you have had lumbago more often, but now it regularly shoots into your back for no reason. It seems to be getting worse and worse:",
    "6.2": "Cycling goes quite well, but when you cycle through a small pothole you do get a sharp stab in the back, so from now on you would rather get out of the saddle at potholes and bumps:",
    "6.3": "You often have a somewhat stiff back, but when you misstep you get a ‘knife stab’ in the back:",
    "6.4": "You only have trouble after heavier strain on the back: carrying, gardening and for example the day after playing hockey. But also after standing bent for a while you have to ‘jack yourself up’ to get straight:",
    "6.5": "Only when getting up in the morning and later in the day do you have trouble with a stiff, painful back:",
    "6.6": "You have had trouble in your back since you slipped or fell:",
    "6.7": "Actually you only have trouble at night and in the morning:",
    "6.8": "The complaints began right after an operation:",
    "6.9": "Your complaints are not only in your back, but are spread all over your body:",
    "6.10": "You have even had surgery on your back a few times, but despite that it will not get better. It keeps coming back:",
    "7.1": "exactly in the middle at the spinous processes (figure 5, red dots 1):",
    "7.2": "to the left or right of the vertebrae (figure 5, red dots 2):",
    "7.3": "low in the back on the left and/or right (figure 5, red dots 3), at the little knobs:",
    "7.4": "in a somewhat larger area low in the back on the left or right (figure 5, large red circles 4):",
}

# Verbatim book sentences used outside the bullet tables (checked against the content map), with
# their translations.
BOOK_TEXT = {
    "instructie": (
        "Beantwoord de vragen in de aangeboden volgorde. Zo gauw u een vraag met ‘ja’ kunt beantwoorden, bent u klaar met vragen stellen en bent u uitgekomen bij een antwoordnummer. Dit nummer verwijst naar het betreffende antwoord in het volgende hoofdstuk ‘Zelfdiagnose: antwoorden’. Dat antwoord geeft uitleg over uw aandoening die vervolgens verderop in het boek uitgebreider besproken wordt. Kunt u zich totaal niet herkennen in dit antwoord, ga dan terug naar de vraag die u met ‘ja’ beantwoord had en ga daar verder.",
        "Answer the questions in the order given. As soon as you can answer a question with ‘yes’, you are done asking questions and you have arrived at an answer number. This number refers to the corresponding answer in the next chapter ‘Self-diagnosis: answers’. That answer explains your condition, which is then discussed in more detail further on in the book. If you cannot recognise yourself in this answer at all, go back to the question you answered ‘yes’ and continue from there.",
    ),
    "voorbehoud": (
        "Bedenk dat de uitkomst nooit helemaal zeker is en dat het altijd beter is deze uitkomst door middel van onderzoek door uw arts te laten verifiëren.",
        "Bear in mind that the outcome is never entirely certain and that it is always better to have this outcome verified by an examination by your doctor.",
    ),
    "lijst1": (
        "U hebt rugklachten (met of zonder uitstraling) én……",
        "You have back complaints (with or without radiation) and……",
    ),
    "lijst1.slot": (
        "Hebt u deze vragen met ‘nee’ beantwoord, maak dan een keuze uit de indeling van Lijst 2 en ga verder.",
        "If you have answered these questions with ‘no’, then choose from the classification of List 2 and continue.",
    ),
    "lijst2": ("U hebt rugklachten met...", "You have back complaints with..."),
    "dichtstbij": ("Of kies wat er het dichtste bij komt.", "Or choose what comes closest."),
    "lijst7": (
        "U hebt nog niets herkenbaars gevonden, maar de pijn zit vooral:",
        "You have not yet found anything recognisable, but the pain is mainly:",
    ),
}

# Text written by fhirrug (tekstbron `fhirrug`), Dutch and English.
OWN_TEXT = {
    "title": ("Zelfdiagnose lage rugklachten (Spreekuur Thuis)", "Self-diagnosis of low back complaints (Spreekuur Thuis)"),
    "description": (
        "De zelfdiagnose-procedure uit het boek Spreekuur Thuis over lage rugklachten (hoofdstukken ‘Zelfdiagnose: vragen stellen’ en ‘Zelfdiagnose: antwoorden’): Lijst 1 tot en met 7 leiden naar antwoord 1 tot en met 31. Vooraf gaan drie alarmvragen die niet in de lijsten van het boek staan: over plas- of ontlastingproblemen en een doof rijbroekgebied (naar de patiëntenfolder Rughernia van het St. Antonius Ziekenhuis) en over afnemende kracht en een klapvoet (naar het boek zelf). De uitkomst verschijnt in de vragenlijst zelf als groep met de code van het antwoord; een antwoord dat de lezer niet herkent, is geen uitkomst. Dit is patiëntenvoorlichting, geen diagnose.",
        "The self-diagnosis procedure from the book Spreekuur Thuis on low back complaints (chapters ‘Self-diagnosis: asking questions’ and ‘Self-diagnosis: answers’): Lists 1 to 7 lead to answers 1 to 31. They are preceded by three alarm questions that are not in the book's lists: on problems passing urine or stools and a numb saddle area (after the St. Antonius Hospital patient leaflet on herniated discs) and on decreasing strength and a foot drop (after the book itself). The outcome appears in the questionnaire itself as a group carrying the answer's code; an answer the reader does not recognise is no outcome. This is patient information, not a diagnosis.",
    ),
    "purpose": (
        "Lezers van het boek en patiënten met lage rugklachten helpen hun klachten te plaatsen voordat zij een arts bezoeken, en hen bij alarmsignalen direct naar een arts verwijzen.",
        "To help readers of the book and patients with low back complaints to place their complaints before they see a doctor, and to send them straight to a doctor when there are alarm signals.",
    ),
    "copyright": (
        "De vragen en antwoorden zijn letterlijk overgenomen uit het boek Spreekuur Thuis over lage rugklachten; de alarmvragen en hun adviezen zijn in eigen woorden gebaseerd op de patiëntenfolder ‘Rughernia (lumbale hernia)’ van het St. Antonius Ziekenhuis (NEU 04-A) en op het boek, de alarmuitkomsten citeren die folder en de blog ‘10 meest gestelde vragen over ischias’. Die teksten blijven eigendom van hun auteurs. Structuur, overige teksten en de Engelse vertalingen: fhirrug.",
        "The questions and answers are taken verbatim from the book Spreekuur Thuis on low back complaints; the alarm questions and their advice are based, in our own words, on the St. Antonius Hospital patient leaflet ‘Rughernia (lumbale hernia)’ (NEU 04-A) and on the book, and the alarm outcomes quote that leaflet and the blog ‘10 meest gestelde vragen over ischias’. Those texts remain the property of their authors. Structure, other texts and the English translations: fhirrug.",
    ),
    "alarm": (
        "Eerst: alarmsignalen. Deze vragen staan niet in de lijsten van het boek; bij ‘ja’ neemt u direct contact op met een arts en stopt de vragenlijst hier.",
        "First: alarm signals. These questions are not in the book's lists; if you answer ‘yes’, contact a doctor at once and the questionnaire stops here.",
    ),
    "lijst2.geen": ("Geen van deze beschrijvingen past bij mij.", "None of these descriptions fits me."),
    "lijst3": ("Uitstraling tot in uw voet of tenen", "Radiation down into your foot or toes"),
    "lijst4": ("Uitstraling tot in de knieholte of de zijkant van de kuit", "Radiation into the hollow of the knee or the side of the calf"),
    "lijst5": ("Uitstraling in heupregio, lies, bovenbeen of bilstreek", "Radiation into the hip region, groin, thigh or buttock area"),
    "lijst6": ("De pijn straalt niet uit", "The pain does not radiate"),
    "lijst7.groep": ("Waar zit de pijn?", "Where is the pain?"),
    "keuze": ("Welke beschrijving past het best bij u?", "Which description fits you best?"),
    "keuze-2": ("Welke van de andere beschrijvingen past het best bij u?", "Which of the other descriptions fits you best?"),
    "herkenning": (
        "Herkent u zich in dit antwoord? Kiest u ‘nee’, dan gaat u verder zoals het boek aangeeft.",
        "Do you recognise yourself in this answer? If you choose ‘no’, you continue as the book indicates.",
    ),
    "herkenning-twee": (
        "Herkent u zich in deze antwoorden? Kiest u ‘nee’, dan gaat u verder zoals het boek aangeeft.",
        "Do you recognise yourself in these answers? If you choose ‘no’, you continue as the book indicates.",
    ),
    "uitkomst": ("Hier eindigt uw zelfdiagnose, bij dit antwoord.", "Your self-diagnosis ends here, at this answer."),
    "antwoord-3.fractuur-uitgesloten": (
        "Heeft uw huisarts al een wervelfractuur uitgesloten? Bent u nog niet bij uw huisarts geweest, kies dan ‘nee’.",
        "Has your GP already ruled out a vertebral fracture? If you have not yet seen your GP, choose ‘no’.",
    ),
    "antwoord-3.oorzaak": (
        "Heeft uw huisarts een oorzaak van uw rugklachten vastgesteld?",
        "Has your GP found a cause of your back complaints?",
    ),
    "antwoord-3.oorzaak.advies": (
        "Volg dan het advies van uw huisarts; deze zelfdiagnose gaat hier niet verder.",
        "Then follow your GP's advice; this self-diagnosis does not go on from here.",
    ),
    "antwoord-5.complicatie": (
        "Is er in uw zwangerschap een complicatie opgetreden? Weet u het niet zeker, kies dan ‘ja’.",
        "Has a complication occurred in your pregnancy? If you are not sure, choose ‘yes’.",
    ),
    "antwoord-5.complicatie.advies": (
        "Neem contact op met uw verloskundige of huisarts.",
        "Contact your midwife or GP.",
    ),
    "antwoord-5.bekkeninstabiliteit": (
        "Herkent u uw klachten in wat het boek onder ‘Bekkeninstabiliteit’ (pagina 80) beschrijft?",
        "Do you recognise your complaints in what the book describes under ‘Pelvic instability’ (page 80)?",
    ),
    "figuur-5": (
        "Figuur 5 uit het boek ontbreekt hier. In woorden: rode punten 1 liggen precies in het midden van de rug op de doornuitsteeksels (de knobbels die u midden op de rug voelt); rode punten 2 links of rechts naast de wervels; rode punten 3 links en/of rechts onder in de rug bij de knobbeltjes van het bekken; grote rode cirkels 4 een wat groter gebied links of rechts onder in de rug.",
        "Figure 5 of the book is missing here. In words: red dots 1 lie exactly in the middle of the back on the spinous processes (the bumps you feel in the middle of the back); red dots 2 to the left or right beside the vertebrae; red dots 3 low in the back on the left and/or right at the little knobs of the pelvis; large red circles 4 a somewhat larger area low in the back on the left or right.",
    ),
    "alarm.1": (
        "Hebt u plas- of ontlastingproblemen (vertraagd urineren of een vertraagde stoelgang, of juist ongewild verlies van urine of ontlasting), of een doof gevoel op de billen (het 'rijbroekgebied')?",
        "Do you have problems passing urine or stools (delayed urination or delayed bowel movements, or on the contrary involuntary loss of urine or stools), or a numb feeling on the buttocks (the 'saddle area': the skin that would touch a saddle)?",
    ),
    "alarm.1.advies": (
        "Bent u al onder behandeling voor uw hernia? Bel dan binnen kantooruren uw behandelend arts en buiten kantooruren de Spoedeisende Hulp van het ziekenhuis waar u onder behandeling bent.",
        "Are you already being treated for your herniated disc? Then call your treating doctor during office hours, and outside office hours the Emergency Department of the hospital where you are being treated.",
    ),
    "alarm.2": (
        "Neemt de kracht in uw been, voet of tenen duidelijk af?",
        "Is the strength in your leg, foot or toes clearly decreasing?",
    ),
    "alarm.3": (
        "Hebt u sinds kort een klapvoet (u kunt uw voet of tenen niet goed meer optillen, zodat uw voet bij het lopen neerklapt), of sleept u sinds kort met uw been? Hebt u dit al langer maar heeft nog geen arts ernaar gekeken, of weet u het niet zeker, kies dan ‘ja’.",
        "Have you recently developed a foot drop (you can no longer lift your foot or toes properly, so that your foot slaps down when you walk), or have you recently started dragging your leg? If you have had this for longer but no doctor has looked at it yet, or if you are not sure, choose ‘yes’.",
    ),
    "alarm.2.advies": (
        "Wacht hier niet mee: neem direct contact op met uw huisarts, buiten kantooruren met de huisartsenpost in uw regio. Bent u al onder behandeling voor uw hernia, bel dan binnen kantooruren uw behandelend arts en buiten kantooruren de Spoedeisende Hulp van het ziekenhuis waar u onder behandeling bent.",
        "Do not wait: contact your GP at once, outside office hours the out-of-hours GP service in your region. If you are already being treated for your herniated disc, call your treating doctor during office hours and, outside office hours, the Emergency Department of the hospital where you are being treated.",
    ),
}

# Texts of OWN_TEXT that render a source's content in our words (tekstbron `<source>-bewerkt`);
# every other OWN_TEXT is written by fhirrug (tekstbron `fhirrug`). See questionnaires/README.md.
ADAPTED_FROM = {
    "alarm.1": "st-antonius-rughernia",  # the leaflet's "Wanneer direct contact opnemen?" as a question
    "alarm.1.advies": "st-antonius-rughernia",  # its routing for patients in treatment, without the hospital's numbers
    "alarm.2": "spreekuur-thuis",  # answer 7: "kan ook de kracht in uw voet of tenen verder afnemen"
    "alarm.3": "spreekuur-thuis",  # anamnesis 'Hoe loopt u?': klapvoet or dragging leg, "recent ontstaan óf ... al jaren"
    "antwoord-3.fractuur-uitgesloten": "spreekuur-thuis",  # answer 3: "Wanneer een wervelfractuur uitgesloten is ..."
    "antwoord-3.oorzaak": "spreekuur-thuis",  # answer 3: "... en geen oorzaak is vastgesteld"
    "antwoord-5.complicatie": "spreekuur-thuis",  # answer 5: "De eerste vraag is of er geen complicatie ..."
    "antwoord-5.bekkeninstabiliteit": "spreekuur-thuis",  # answer 5: "Kunt u uw klachten hierin niet herkennen"
}

LIST_ANSWERS: dict[str, list[int]] = {}  # bullet id -> answer numbers, filled from the content map


# --------------------------------------------------------------------------------------------
# Reading the sources
# --------------------------------------------------------------------------------------------
def read_content_map() -> tuple[dict[str, str], dict[str, list[int]]]:
    """Bullets (id -> verbatim Dutch text) and their answer targets, from content map section 1.3."""
    text = CONTENT_MAP.read_text(encoding="utf-8")
    section = text.split("### 1.3", 1)[1].split("### 1.4", 1)[0]
    bullets: dict[str, str] = {}
    targets: dict[str, list[int]] = {}
    for line in section.splitlines():
        m = re.match(r"^\| (\d\.\d+) \| (.+?) \| `(.+?)` \| (.+?) \|$", line)
        if not m:
            continue
        bid, bullet, target, _ = m.groups()
        bullets[bid] = bullet
        targets[bid] = [int(n) for n in re.findall(r"\d+", target)] if "antwoordnummer" in target else []
    return bullets, targets


def normalised_book() -> str:
    raw = next((SHARED / "seeds").glob("002_*.txt")).read_text(encoding="utf-8")
    joined = re.sub(r"(\w)-\n\s*(\w)", r"\1\2", raw)  # line-end hyphenation
    return re.sub(r"\s+", " ", joined)


def translation(en: str) -> dict:
    return {"extension": [{"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": en}]}]}


def tekstbron(code: str) -> dict:
    return {"url": TEKSTBRON_EXT, "valueCoding": {"system": TEKSTBRON_SYSTEM, "code": code, "display": TEKSTBRON_DISPLAY[code]}}


def english_of(element: dict | None) -> str | None:
    for ext in (element or {}).get("extension", []):
        if ext.get("url") == TRANSLATION:
            parts = {e.get("url"): e for e in ext.get("extension", [])}
            if parts.get("lang", {}).get("valueCode") == "en":
                return parts.get("content", {}).get("valueString")
    return None


def read_outcomes(path: Path, system: str) -> dict[str, dict]:
    """code -> {display, display_en, definition, definition_en, tekstbron} from a colleague's CodeSystem."""
    if not path.exists():
        return {}
    cs, issues = read_json(path)
    if issues or not isinstance(cs, dict) or cs.get("url") != system:
        return {}
    out: dict[str, dict] = {}

    def walk(concepts):
        for c in concepts or []:
            out[c["code"]] = {k: c.get(k) for k in ("extension", "display", "_display", "definition", "_definition")}
            walk(c.get("concept"))

    walk(cs.get("concept"))
    return out


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
def text_item(link_id: str, item_type: str, nl: str, en: str, *, prefix: tuple[str, str] | None = None,
              source: str | None = None, code: list | None = None, required: bool | None = None,
              enable_when: list | None = None, behavior: str | None = None, options: list | None = None,
              control: str | None = None, children: list | None = None) -> dict:
    item: dict = {"linkId": link_id}
    ext = []
    if control:
        ext.append({"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/questionnaire-item-control", "code": control}]}})
    if source:
        ext.append(tekstbron(source))
    if ext:
        item["extension"] = ext
    if code:
        item["code"] = code
    if prefix:
        item["prefix"] = prefix[0]
        item["_prefix"] = translation(prefix[1])
    item["text"] = nl
    item["_text"] = translation(en)
    item["type"] = item_type
    if enable_when:
        item["enableWhen"] = enable_when
        if len(enable_when) > 1:
            item["enableBehavior"] = behavior or "all"
    if required is not None:
        item["required"] = required
    if options:
        item["answerOption"] = options
    if children:
        item["item"] = children
    return item


def when_bool(question: str, value: bool) -> dict:
    return {"question": question, "operator": "=", "answerBoolean": value}


def when_code(question: str, code: str) -> dict:
    return {"question": question, "operator": "=", "answerCoding": {"system": KEUZE_SYSTEM, "code": code}}


def when_any(conditions: list[dict]) -> dict:
    """enableWhen conditions with their behaviour (any), for text_item(..., enable_when=..., behavior=...)."""
    return {"enable_when": conditions, "behavior": "any"}


class Builder:
    """The Questionnaire's items. An answer the reader reaches is shown in one of two forms:

    - nothing is asked about it (Lijst 1 answers 1, 2, 4, 6; Lijst 7; the alarm outcomes): the
      coded outcome group itself, around a display item with the answer's text;
    - the reader is asked about it (recognition in Lijst 3-6, the follow-up questions of
      answers 3 and 5): an uncoded group with the answer's text and the question(s) shows the
      answer; the coded outcome group (a closing line) follows only when the reader stops at it.
      A rejected answer is therefore never an outcome (enabled coded groups holding no question).
    """

    def __init__(self, bullets: dict[str, str], targets: dict[str, list[int]], antwoorden: dict, alarms: dict):
        self.bullets = bullets
        self.targets = targets
        self.antwoorden = antwoorden
        self.alarms = alarms
        self.missing: list[str] = []

    def own(self, key: str, link_id: str, item_type: str, **kw) -> dict:
        nl, en = OWN_TEXT[key]
        source = kw.pop("source", None) or (f"{ADAPTED_FROM[key]}-bewerkt" if key in ADAPTED_FROM else "fhirrug")
        return text_item(link_id, item_type, nl, en, source=source, **kw)

    def book(self, key: str, link_id: str, item_type: str, **kw) -> dict:
        nl, en = BOOK_TEXT[key]
        return text_item(link_id, item_type, nl, en, **kw)

    def concept(self, system: str, code: str) -> dict:
        table = self.antwoorden if system == ANTWOORD_SYSTEM else self.alarms
        c = table.get(code)
        if not c or not all(c.get(k) for k in ("display", "_display", "definition", "_definition")) \
                or not english_of(c["_display"]) or not english_of(c["_definition"]):
            self.missing.append(f"{system}|{code}")
            c = {"display": f"PLACEHOLDER {code}", "_display": translation(f"PLACEHOLDER {code}"),
                 "definition": f"PLACEHOLDER {code}", "_definition": translation(f"PLACEHOLDER {code}"), "extension": []}
        return c

    def _answer_group(self, link_id: str, system: str, code: str, enable_when: list | None, children: list, coded: bool) -> dict:
        """A group titled with the concept's short title (ours: its `_display` carries tekstbron
        `fhirrug` and the English), coded or not, around `children`."""
        c = self.concept(system, code)
        item: dict = {"linkId": link_id}
        if coded:
            item["code"] = [{"system": system, "code": code, "display": c["display"], "_display": c["_display"]}]
        if system == ANTWOORD_SYSTEM:
            item["prefix"] = f"Antwoord {code}"
            item["_prefix"] = translation(f"Answer {code}")
        item["text"] = c["display"]
        item["_text"] = c["_display"]
        item["type"] = "group"
        if enable_when:
            item["enableWhen"] = enable_when
            if len(enable_when) > 1:
                item["enableBehavior"] = "any"
        item["item"] = children
        return item

    def answer_text(self, link_id: str, system: str, code: str) -> dict:
        """The display item with the answer's text: the concept's definition, verbatim, marked with
        the concept's own source when it has one (the alarm outcomes)."""
        c = self.concept(system, code)
        shown: dict = {"linkId": link_id}
        sources = [e for e in c.get("extension") or [] if e.get("url") == TEKSTBRON_EXT]
        if sources:
            shown["extension"] = sources
        shown["text"] = c["definition"]
        shown["_text"] = c["_definition"]
        shown["type"] = "display"
        return shown

    def outcome(self, link_id: str, system: str, code: str, enable_when: list) -> dict:
        """An outcome nothing is asked about: the coded group holds the answer's text."""
        return self._answer_group(link_id, system, code, enable_when, [self.answer_text(f"{link_id}.tekst", system, code)], coded=True)

    def shown_answer(self, link_id: str, code: str, enable_when: list | None, questions: list) -> dict:
        """An answer the reader is asked about: uncoded, its text first, then the questions."""
        return self._answer_group(link_id, ANTWOORD_SYSTEM, code, enable_when,
                                  [self.answer_text(f"{link_id}.tekst", ANTWOORD_SYSTEM, code), *questions], coded=False)

    def confirmed_outcome(self, link_id: str, code: str, enable_when: list) -> dict:
        """The coded outcome of an answer the reader stopped at, after the questions about it."""
        return self._answer_group(link_id, ANTWOORD_SYSTEM, code, enable_when,
                                  [self.own("uitkomst", f"{link_id}.tekst", "display")], coded=True)

    def bullet_question(self, bid: str, link_id: str, enable_when: list | None, behavior: str = "any") -> dict:
        number = bid.split(".", 1)[1]
        return text_item(link_id, "boolean", self.bullets[bid], BULLET_EN[bid], prefix=(f"{number}.", f"{number}."),
                         required=True, enable_when=enable_when, behavior=behavior)

    def option(self, bid: str) -> dict:
        return {"valueCoding": {"system": KEUZE_SYSTEM, "code": bid, "display": self.bullets[bid],
                                "_display": translation(BULLET_EN[bid])}}

    # ---- the procedure -------------------------------------------------------------------
    def alarm(self) -> dict:
        # alarm.2 (decreasing strength) and alarm.3 (a foot drop that came recently or was never
        # examined) lead to the same outcome; each 'nee' goes on, Lijst 1 starts after alarm.3 'nee'.
        uitval = [when_bool("alarm.2", True), when_bool("alarm.3", True)]
        return self.own("alarm", "alarm", "group", children=[
            self.own("alarm.1", "alarm.1", "boolean", required=True),
            self.outcome("alarm.1.uitkomst", ALARM_SYSTEM, "cauda-equina", [when_bool("alarm.1", True)]),
            self.own("alarm.1.advies", "alarm.1.advies", "display", enable_when=[when_bool("alarm.1", True)]),
            self.own("alarm.2", "alarm.2", "boolean", required=True, enable_when=[when_bool("alarm.1", False)]),
            self.own("alarm.3", "alarm.3", "boolean", required=True, enable_when=[when_bool("alarm.2", False)]),
            self.outcome("alarm.2.uitkomst", ALARM_SYSTEM, "toenemende-uitval", uitval),
            self.own("alarm.2.advies", "alarm.2.advies", "display", **when_any(uitval)),
        ])

    def lijst1(self) -> dict:
        items: list[dict] = []
        for k in range(1, 7):
            bid = f"1.{k}"
            if k == 1:
                ew = None
            elif k == 4:  # after answer 3: a fracture ruled out and no cause found
                ew = [when_bool("lijst1.3", False), when_bool("lijst1.antwoord-3.oorzaak", False)]
            elif k == 6:  # after answer 5: no complication, not Bekkeninstabiliteit ("de laatste vraag van Lijst 1")
                ew = [when_bool("lijst1.5", False), when_bool("lijst1.antwoord-5.bekkeninstabiliteit", False)]
            else:
                ew = [when_bool(f"lijst1.{k - 1}", False)]
            items.append(self.bullet_question(bid, f"lijst1.{k}", ew))
            (n,) = self.targets[bid]
            reached = [when_bool(f"lijst1.{k}", True)]
            if k == 3:
                a = "lijst1.antwoord-3"
                items.append(self.shown_answer(a, "3", reached, [
                    self.own("antwoord-3.fractuur-uitgesloten", f"{a}.fractuur-uitgesloten", "boolean", required=True),
                    self.own("antwoord-3.oorzaak", f"{a}.oorzaak", "boolean", required=True,
                             enable_when=[when_bool(f"{a}.fractuur-uitgesloten", True)]),
                    self.own("antwoord-3.oorzaak.advies", f"{a}.oorzaak.advies", "display",
                             enable_when=[when_bool(f"{a}.oorzaak", True)]),
                ]))
                items.append(self.confirmed_outcome("lijst1.uitkomst-3", "3",
                                                    [when_bool(f"{a}.fractuur-uitgesloten", False), when_bool(f"{a}.oorzaak", True)]))
            elif k == 5:
                a = "lijst1.antwoord-5"
                items.append(self.shown_answer(a, "5", reached, [
                    self.own("antwoord-5.complicatie", f"{a}.complicatie", "boolean", required=True),
                    self.own("antwoord-5.complicatie.advies", f"{a}.complicatie.advies", "display",
                             enable_when=[when_bool(f"{a}.complicatie", True)]),
                    self.own("antwoord-5.bekkeninstabiliteit", f"{a}.bekkeninstabiliteit", "boolean", required=True,
                             enable_when=[when_bool(f"{a}.complicatie", False)]),
                ]))
                items.append(self.confirmed_outcome("lijst1.uitkomst-5", "5",
                                                    [when_bool(f"{a}.complicatie", True), when_bool(f"{a}.bekkeninstabiliteit", True)]))
            else:
                items.append(self.outcome(f"lijst1.antwoord-{n}", ANTWOORD_SYSTEM, str(n), reached))
        items.append(self.book("lijst1.slot", "lijst1.slot", "display", enable_when=[when_bool("lijst1.6", False)]))
        return self.book("lijst1", "lijst1", "group", prefix=("Lijst 1.", "List 1."),
                         enable_when=[when_bool("alarm.3", False)], children=items)

    def lijst2(self) -> dict:
        options = [self.option(f"2.{k}") for k in range(1, 5)]
        nl, en = OWN_TEXT["lijst2.geen"]
        options.append({"extension": [tekstbron("fhirrug")],
                        "valueCoding": {"system": KEUZE_SYSTEM, "code": "2.geen", "display": nl, "_display": translation(en)}})
        return self.book("lijst2", "lijst2", "choice", prefix=("Lijst 2.", "List 2."), required=True,
                         enable_when=[when_bool("lijst1.6", False)], options=options, control="radio-button")

    def choice_list(self, n: int, route: str) -> dict:
        """Lijst 3, 4 or 5: the closest statement, its answer, 'Herkent u zich in dit antwoord?';
        'nee' goes back to the list ("ga daar verder"): a second choice among the other statements,
        its answer, and after a second 'nee' Lijst 7."""
        ids = sorted((b for b in self.bullets if b.startswith(f"{n}.")), key=lambda b: int(b.split(".")[1]))
        answer_of = {b: self.targets[b][0] for b in ids}
        question = self.own("keuze", f"lijst{n}.keuze", "choice", required=True, options=[self.option(b) for b in ids],
                            control="radio-button",
                            children=[self.book("dichtstbij", f"lijst{n}.keuze.dichtstbij", "display")])
        items = [question]

        def herkenning(link_id: str) -> dict:
            return self.own("herkenning", f"{link_id}.herkenning", "boolean", required=True)

        for b in ids:  # round 1: the answer of the statement chosen
            a = answer_of[b]
            items.append(self.shown_answer(f"lijst{n}.antwoord-{a}", str(a), [when_code(f"lijst{n}.keuze", b)],
                                           [herkenning(f"lijst{n}.antwoord-{a}")]))
        for b in ids:  # not recognised: choose again among the other statements
            others = [o for o in ids if o != b]
            items.append(self.own("keuze-2", f"lijst{n}.keuze-2.na-{b}", "choice", required=True,
                                  options=[self.option(o) for o in others], control="radio-button",
                                  enable_when=[when_bool(f"lijst{n}.antwoord-{answer_of[b]}.herkenning", False)]))
        for b in ids:  # round 2: the answer of the second choice
            a = answer_of[b]
            chosen = [when_code(f"lijst{n}.keuze-2.na-{o}", b) for o in ids if o != b]
            items.append(self.shown_answer(f"lijst{n}.keuze-2.antwoord-{a}", str(a), chosen,
                                           [herkenning(f"lijst{n}.keuze-2.antwoord-{a}")]))
        for b in ids:  # the outcome: an answer recognised in either round
            a = answer_of[b]
            items.append(self.confirmed_outcome(f"lijst{n}.uitkomst-{a}", str(a), [
                when_bool(f"lijst{n}.antwoord-{a}.herkenning", True), when_bool(f"lijst{n}.keuze-2.antwoord-{a}.herkenning", True)]))
        return self.own(f"lijst{n}", f"lijst{n}", "group", prefix=(f"Lijst {n}", f"List {n}"),
                        enable_when=[when_code("lijst2", route)], children=items)

    def lijst6(self) -> dict:
        """Lijst 6: first 'ja' in the book's order; each answer shown after its bullet, then
        'Herkent u zich in dit antwoord?'; 'nee' goes on with the next bullet ("ga daar verder").
        The coded outcome of an answer follows the last bullet that leads to it."""
        items: list[dict] = []
        ids = [f"6.{k}" for k in range(1, 11)]
        for k, bid in enumerate(ids, start=1):
            ew = None if k == 1 else [when_bool(f"lijst6.{k - 1}", False), when_bool(f"lijst6.{k - 1}.herkenning", False)]
            items.append(self.bullet_question(bid, f"lijst6.{k}", ew))
            for a in self.targets[bid]:
                items.append(self.shown_answer(f"lijst6.{k}.antwoord-{a}", str(a), [when_bool(f"lijst6.{k}", True)], []))
            key = "herkenning-twee" if len(self.targets[bid]) > 1 else "herkenning"
            items.append(self.own(key, f"lijst6.{k}.herkenning", "boolean", required=True, enable_when=[when_bool(f"lijst6.{k}", True)]))
            for a in self.targets[bid]:
                sources = [j for j, b in enumerate(ids, start=1) if a in self.targets[b]]
                if k != sources[-1]:
                    continue  # one outcome per answer, after the last bullet that leads to it
                items.append(self.confirmed_outcome(f"lijst6.uitkomst-{a}", str(a),
                                                    [when_bool(f"lijst6.{j}.herkenning", True) for j in sources]))
        return self.own("lijst6", "lijst6", "group", prefix=("Lijst 6", "List 6"),
                        enable_when=[when_code("lijst2", "2.4")], children=items)

    def lijst7(self) -> dict:
        ids = [f"7.{k}" for k in range(1, 5)]
        question = self.book("lijst7", "lijst7.keuze", "choice", required=True, options=[self.option(b) for b in ids],
                             control="radio-button")
        items = [self.own("figuur-5", "lijst7.figuur-5", "display"), question]
        for b in ids:
            for a in self.targets[b]:
                items.append(self.outcome(f"lijst7.antwoord-{a}", ANTWOORD_SYSTEM, str(a), [when_code("lijst7.keuze", b)]))
        ew = [when_code("lijst2", "2.geen")]
        for n in (3, 4, 5):  # both choices of the list not recognised: "nog niets herkenbaars gevonden"
            ew += [when_bool(f"lijst{n}.keuze-2.antwoord-{self.targets[b][0]}.herkenning", False)
                   for b in sorted((b for b in self.bullets if b.startswith(f"{n}.")), key=lambda b: int(b.split(".")[1]))]
        ew += [when_bool("lijst6.10", False), when_bool("lijst6.10.herkenning", False)]
        return self.own("lijst7.groep", "lijst7", "group", prefix=("Lijst 7", "List 7"), enable_when=ew,
                        behavior="any", children=items)

    def questionnaire(self) -> dict:
        t, d, p, c = (OWN_TEXT[k] for k in ("title", "description", "purpose", "copyright"))
        return {
            "resourceType": "Questionnaire",
            "id": Q_ID,
            "language": "nl-NL",
            # The main source of the items: a text without a mark of its own is the book's, verbatim.
            "extension": [tekstbron("spreekuur-thuis")],
            "url": f"{BASE}/Questionnaire/{Q_ID}",
            "version": VERSION,
            "name": "ZelfdiagnoseLageRugklachten",
            "title": t[0],
            "_title": translation(t[1]),
            "status": STATUS,
            "experimental": False,
            "subjectType": ["Patient"],
            "date": DATE,
            "publisher": PUBLISHER,
            "description": d[0],
            "_description": translation(d[1]),
            "useContext": [
                {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"},
                 "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "279039007"}]}},
                {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "user"},
                 "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "116154003"}]}},
            ],
            "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NL", "display": "Netherlands"}]}],
            "purpose": p[0],
            "_purpose": translation(p[1]),
            "copyright": c[0],
            "_copyright": translation(c[1]),
            "item": [
                self.book("instructie", "instructie", "display"),
                self.book("voorbehoud", "voorbehoud", "display"),
                self.alarm(),
                self.lijst1(),
                self.lijst2(),
                self.choice_list(3, "2.1"),
                self.choice_list(4, "2.2"),
                self.choice_list(5, "2.3"),
                self.lijst6(),
                self.lijst7(),
            ],
        }


# --------------------------------------------------------------------------------------------
# Choice CodeSystem and per-list ValueSets
# --------------------------------------------------------------------------------------------
def common(resource_type: str, rid: str, name: str, title: tuple[str, str], description: tuple[str, str]) -> dict:
    return {
        "resourceType": resource_type,
        "id": rid,
        "language": "nl-NL",
        "url": f"{BASE}/{resource_type}/{rid}",
        "version": VERSION,
        "name": name,
        "title": title[0],
        "_title": translation(title[1]),
        "status": STATUS,
        "experimental": False,
        "date": DATE,
        "publisher": PUBLISHER,
        "description": description[0],
        "_description": translation(description[1]),
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NL", "display": "Netherlands"}]}],
        "copyright": OWN_TEXT["copyright"][0],
        "_copyright": translation(OWN_TEXT["copyright"][1]),
    }


LIST_NAMES = {2: "2", 3: "3", 4: "4", 5: "5", 7: "7"}


def keuze_codesystem(bullets: dict[str, str]) -> dict:
    cs = common("CodeSystem", "zelfdiagnose-keuze", "ZelfdiagnoseKeuze",
                ("Zelfdiagnose lage rugklachten: keuzes in Lijst 2, 3, 4, 5 en 7", "Self-diagnosis of low back complaints: choices in Lists 2, 3, 4, 5 and 7"),
                ("De uitspraken uit Spreekuur Thuis waaruit de lezer in Lijst 2, 3, 4, 5 en 7 van de zelfdiagnose kiest, letterlijk uit het boek. De code is het nummer van de uitspraak in de lijst (lijst.volgnummer); 2.geen is de keuze ‘geen van deze’ bij Lijst 2 (het boek: ‘Zo neen, ga verder met Lijst 7.’).",
                 "The statements from Spreekuur Thuis from which the reader chooses in Lists 2, 3, 4, 5 and 7 of the self-diagnosis, verbatim from the book. The code is the number of the statement in its list (list.sequence number); 2.geen is the choice ‘none of these’ in List 2 (the book: ‘If not, continue with List 7.’)."))
    # The main source of the concepts: the book's bullets, verbatim (2.geen carries its own mark).
    cs = {**{k: cs[k] for k in ("resourceType", "id", "language")}, "extension": [tekstbron("spreekuur-thuis")],
          **{k: v for k, v in cs.items() if k not in ("resourceType", "id", "language")}}
    cs["caseSensitive"] = True
    cs["valueSet"] = f"{BASE}/ValueSet/zelfdiagnose-keuze"
    cs["content"] = "complete"
    concepts = []
    for bid in sorted((b for b in bullets if int(b.split(".")[0]) in LIST_NAMES), key=lambda b: tuple(int(x) for x in b.split("."))):
        concepts.append({"code": bid, "display": bullets[bid], "_display": translation(BULLET_EN[bid])})
        if bid == "2.4":
            nl, en = OWN_TEXT["lijst2.geen"]
            concepts.append({"extension": [tekstbron("fhirrug")], "code": "2.geen", "display": nl, "_display": translation(en)})
    cs["count"] = len(concepts)
    cs["concept"] = concepts
    return cs


def keuze_valuesets(bullets: dict[str, str]) -> list[dict]:
    out = []
    all_vs = common("ValueSet", "zelfdiagnose-keuze", "ZelfdiagnoseKeuze",
                    ("Zelfdiagnose lage rugklachten: alle keuzes", "Self-diagnosis of low back complaints: all choices"),
                    ("Alle uitspraken uit CodeSystem zelfdiagnose-keuze.", "All statements from CodeSystem zelfdiagnose-keuze."))
    all_vs["compose"] = {"include": [{"system": KEUZE_SYSTEM}]}
    out.append(all_vs)
    for n in LIST_NAMES:
        codes = sorted((b for b in bullets if b.startswith(f"{n}.")), key=lambda b: int(b.split(".")[1]))
        if n == 2:
            codes.append("2.geen")
        vs = common("ValueSet", f"zelfdiagnose-lijst{n}", f"ZelfdiagnoseLijst{n}",
                    (f"Zelfdiagnose lage rugklachten: keuzes van Lijst {n}", f"Self-diagnosis of low back complaints: choices of List {n}"),
                    (f"De uitspraken van Lijst {n} uit Spreekuur Thuis, de antwoordopties van item lijst{n if n == 2 else str(n) + '.keuze'} van de Questionnaire zelfdiagnose-lage-rugklachten.",
                     f"The statements of List {n} from Spreekuur Thuis, the answer options of item lijst{n if n == 2 else str(n) + '.keuze'} of the Questionnaire zelfdiagnose-lage-rugklachten."))
        vs["compose"] = {"include": [{"system": KEUZE_SYSTEM, "concept": [{"code": c} for c in codes]}]}
        out.append(vs)
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    tekstbron_cs, _ = read_json(ROOT / "valuesets" / "CodeSystem-tekstbron.json")
    TEKSTBRON_DISPLAY.update({c["code"]: c["display"] for c in (tekstbron_cs or {}).get("concept", [])})
    bullets, targets = read_content_map()
    book = normalised_book()
    problems = [f"bullet {b} not verbatim in the book" for b, t in bullets.items() if t not in book]
    problems += [f"{k} not verbatim in the book" for k, (nl, _) in BOOK_TEXT.items() if nl not in book]
    if len(bullets) != 38:
        problems.append(f"expected 38 bullets/options in the content map, got {len(bullets)}")
    antwoorden = read_outcomes(ROOT / "valuesets" / "CodeSystem-zelfdiagnose-antwoord.json", ANTWOORD_SYSTEM)
    alarms = read_outcomes(ROOT / "valuesets" / "CodeSystem-rugalarm-uitkomst.json", ALARM_SYSTEM)
    builder = Builder(bullets, targets, antwoorden, alarms)
    q = builder.questionnaire()
    files = {ROOT / "questionnaires" / f"Questionnaire-{Q_ID}.json": q,
             ROOT / "valuesets" / "CodeSystem-zelfdiagnose-keuze.json": keuze_codesystem(bullets)}
    for vs in keuze_valuesets(bullets):
        files[ROOT / "valuesets" / f"ValueSet-{vs['id']}.json"] = vs
    for p in problems:
        print("warning:", p, file=sys.stderr)
    if builder.missing:
        print("outcome texts not yet available (placeholders): " + ", ".join(builder.missing), file=sys.stderr)
    fresh, _ = sync({path: dumps(resource) for path, resource in files.items()}, check)
    if check and not fresh:
        return 1
    return 1 if builder.missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
